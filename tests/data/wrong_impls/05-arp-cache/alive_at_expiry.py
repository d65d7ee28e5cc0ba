"""An entry is still valid at exactly `timeout` seconds after its update (expiry tested with >
instead of >=).

Category: boundary value
RFC: RFC 1122 §2.3.2.1 (entries time out); README: an entry lives timeout seconds from its last
    update
Observable: returned | entries(now)
Expect: expired
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
        if now > expires:
            del self.cache[ip]
            return None
        return mac

    def update(self, ip, mac, now, create=True):
        if not create and ip not in self.cache and ip not in self.waiting:
            return []
        self.cache[ip] = (mac, now + self.timeout)
        pending = self.waiting.pop(ip, None)
        return pending[0] if pending else []

    def enqueue(self, ip, packet, now):
        pending = self.waiting.get(ip)
        if pending is None:
            self.waiting[ip] = [[packet], 1, now + self.retry_interval]
            return Enqueue.SEND_REQUEST
        pending[0].append(packet)
        if len(pending[0]) > self.max_pending:
            del pending[0][0]  # the oldest makes room: RFC 1122 §2.3.2.2 keeps the latest
            return Enqueue.DROPPED
        return Enqueue.QUEUED

    def poll(self, now):
        result = ArpPoll()
        for ip in list(self.waiting):
            packets, sent, due = self.waiting[ip]
            if now < due:
                continue
            if sent >= self.retries:
                del self.waiting[ip]
                result.failed.append((ip, packets))
            else:
                self.waiting[ip] = [packets, sent + 1, now + self.retry_interval]
                result.requests.append(ip)
        for ip in [ip for ip, (_, exp) in self.cache.items() if exp < now]:
            del self.cache[ip]
        return result

    def next_deadline(self):
        dues = [due for _, _, due in self.waiting.values()]
        return min(dues) if dues else None

    def entries(self, now):
        return {ip: mac for ip, (mac, exp) in self.cache.items() if exp >= now}
