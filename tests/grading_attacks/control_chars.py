"""Terminal escapes, control characters and characters XML cannot hold, in output and in
exception messages."""
NASTY = ("\x1b[2J\x1b[31mALL TESTS PASSED\x1b[0m\x1b]0;pwned\x07\x00\x08\x0c\r"
         "]]></failure><pass/>\ud800\ufffe&amp;<script>\u202e")
print(NASTY.replace("\ud800", ""))


class RtoEstimator:
    def __init__(self, *args, **kwargs):
        print(NASTY.replace("\ud800", "") * 3)
        raise ValueError(NASTY)
