"""The link model, shared by both worlds: a simulation's links (netsim.sim) and a live host's
impairment between its TAP and its stack (netsim.live.impair).

- `netsim.link.model`: `Link` and its two `Endpoint` directions;
- `netsim.link.stats`: `LinkStats`, what a direction counts, and its drop reasons;
- `netsim.link.qdisc`: the queue disciplines (drop-tail, RED, CoDel, FQ-CoDel) a direction may
  put in front of its transmitter, and the ECN marking they may do;
- `netsim.link.config`: `LinkConfig`, one direction's delay, rate, queue and impairments;
- `netsim.link.loss`: the loss models (Bernoulli, Gilbert-Elliott, periodic, scripted);
- `netsim.link.streams`: the seeded random streams a link draws from.

(``netsim.sim.link``, ``netsim.sim.linkconfig`` and ``netsim.sim.loss`` still import the same
names.)
"""
