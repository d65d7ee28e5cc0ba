"""Queue disciplines: what waits in front of a link's transmitter, in what order it leaves,
and what is dropped or ECN-marked on the way (an assignment seam: see `QueueDisc` in base.py).

- `DropTail` (droptail.py): the FIFO every link has by default;
- `Red` (red.py): Random Early Detection;
- `Codel` (codel.py): CoDel, RFC 8289;
- `FqCodel` (fq_codel.py): FQ-CoDel, RFC 8290;
- `parse_qdisc` (spec.py): ``--qdisc`` in tc's words; `register_qdisc` adds a discipline;
- ecn.py: the ECN field of an IPv4 frame, and marking CE on it.

A link uses a discipline when its `LinkConfig` has ``qdisc=`` a factory: a class such as
``Codel``, a `QdiscSpec` from `parse_qdisc`, or any callable returning a `QueueDisc`.
"""

from netsim.link.qdisc.base import Packet, QueueDisc
from netsim.link.qdisc.codel import Codel, CodelState
from netsim.link.qdisc.droptail import DropTail
from netsim.link.qdisc.fq_codel import FqCodel
from netsim.link.qdisc.red import Red
from netsim.link.qdisc.spec import QDISCS, QdiscSpec, parse_qdisc, register_qdisc

__all__ = ["QDISCS", "Codel", "CodelState", "DropTail", "FqCodel", "Packet", "QdiscSpec",
           "QueueDisc", "Red", "parse_qdisc", "register_qdisc"]
