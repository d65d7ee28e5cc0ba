from netsim.stack.tcp.congestion.reno import Reno as MyReno  # noqa: F401
