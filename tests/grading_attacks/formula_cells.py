"""Handed in under a name that a spreadsheet would run as a formula (the test names the file
=HYPERLINK(...).py); its exception message is a formula too."""


class RtoEstimator:
    def __init__(self, *args, **kwargs):
        raise ValueError('=HYPERLINK("http://example.invalid","click")')
