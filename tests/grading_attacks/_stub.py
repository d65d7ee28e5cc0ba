# (appended to every attack) an estimator with no implementation: every method raises
class RtoEstimator:
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        raise NotImplementedError("no estimator here")
