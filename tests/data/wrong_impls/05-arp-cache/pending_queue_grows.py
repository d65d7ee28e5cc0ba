"""A dropped packet is only hidden: every packet is appended to the queue and only the latest
max_pending are released (on a reply or a failure), so the queue of an unresolved address grows
without bound.

Category: memory never released
RFC: RFC 1122 §2.3.2.2 (a bounded queue per unresolved address); README: beyond max_pending
    the oldest packet is dropped
Observable: held while pending
Expect: held while pending
"""

from netsim.stack.arp import ArpPoll, Enqueue


class ArpCache:
    def __init__(self, timeout=60.0, retries=3, retry_interval=1.0, max_pending=256):
        self.timeout = timeout
        self.retries = retries
        self.retry_interval = retry_interval
        self.max_pending = max_pending
        self.cache = {}  # ip -> (mac, expires)
        self.waiting = {}  # ip -> [packets, requests sent, next retry]

    def lookup(self, ip, now):
        entry = self.cache.get(ip)
        if entry is None:
            return None
        mac, expires = entry
        if now >= expires:  # an entry lives `timeout` seconds (RFC 1122 §2.3.2.1)
            del self.cache[ip]
            return None
        return mac

    def update(self, ip, mac, now, create=True):
        if not create and ip not in self.cache and ip not in self.waiting:
            return []
        self.cache[ip] = (mac, now + self.timeout)
        pending = self.waiting.pop(ip, None)
        return pending[0][-self.max_pending:] if pending else []

    def enqueue(self, ip, packet, now):
        pending = self.waiting.get(ip)
        if pending is None:
            self.waiting[ip] = [[packet], 1, now + self.retry_interval]
            return Enqueue.SEND_REQUEST
        pending[0].append(packet)  # every packet is kept; only the latest are released
        return Enqueue.DROPPED if len(pending[0]) > self.max_pending else Enqueue.QUEUED

    def poll(self, now):
        result = ArpPoll()
        for ip in list(self.waiting):
            packets, sent, due = self.waiting[ip]
            if now < due:
                continue
            if sent >= self.retries:
                del self.waiting[ip]
                result.failed.append((ip, packets[-self.max_pending:]))
            else:
                self.waiting[ip] = [packets, sent + 1, now + self.retry_interval]
                result.requests.append(ip)
        for ip in [ip for ip, (_, exp) in self.cache.items() if exp <= now]:
            del self.cache[ip]
        return result

    def next_deadline(self):
        dues = [due for _, _, due in self.waiting.values()]
        return min(dues) if dues else None

    def entries(self, now):
        return {ip: mac for ip, (mac, exp) in self.cache.items() if exp > now}
