"""Live mode: the same stack and applications on a Linux TAP device (DESIGN.md §1).

- `netsim.live.tap`: `TapPort`, a port on an existing TAP device (``TUNSETIFF``, non-blocking);
- `netsim.live.env`: `LiveEnvironment`, SimPy in real time whose idle wait is ``epoll`` on the
  TAP instead of a sleep;
- `netsim.live.impair`: `ImpairedPort`, the simulation's `Link` between the TAP and the stack
  (loss, delay, jitter, reordering, duplication, corruption, rate);
- `netsim.live.host`: `LiveHost`, which puts these together with `netsim.node.Node` and stops
  cleanly on Ctrl-C;
- `netsim.live.peer_echo`: assignment 10's TcpPeer as an echo server for Linux's ``nc``
  (``python -m netsim.labrun peer-live``, which makes and removes its own namespace).

The namespace and TAP come from ``scripts/netns_setup.sh``; the command is ``netsim live``.
"""
