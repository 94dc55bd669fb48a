#!/usr/bin/env python3
"""A tiny authoritative DNS responder on UDP that answers after a delay.

Usage: slow_dns.py ADDR PORT DELAY_SECONDS
Zone: NAME.slow.test (any NAME without a dot) has A 10.53.x.y (x.y from a hash of NAME), no AAAA
(NOERROR, empty answer); missing.slow.test and anything outside slow.test are NXDOMAIN;
PTR for 10.53.0.1 is ptr-host.slow.test. Each query is answered on its own thread after
DELAY seconds, so concurrent queries are all delayed once, not one after the other.
Prints "ready" on stdout when it listens, and one line "query NAME TYPE" per query.
"""
import socket
import struct
import sys
import threading
import time
import zlib


def parse_qname(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return '.'.join(labels), off
        labels.append(msg[off:off + n].decode('ascii', 'replace'))
        off += n


def encode_name(name):
    out = b''
    for label in name.rstrip('.').split('.'):
        out += bytes([len(label)]) + label.encode('ascii')
    return out + b'\0'


def address_of(name):
    h = zlib.crc32(name.lower().encode())
    return bytes([10, 53, (h >> 8) & 0xff, h & 0xff or 1])


def answer(query):
    qid, flags, qd = struct.unpack('>HHH', query[:6])
    name, off = parse_qname(query, 12)
    qtype, qclass = struct.unpack('>HH', query[off:off + 4])
    question = query[12:off + 4]
    lname = name.lower()
    records = b''
    rcode = 0
    count = 0
    if lname == '1.0.53.10.in-addr.arpa' and qtype == 12:
        rdata = encode_name('ptr-host.slow.test')
        records = b'\xc0\x0c' + struct.pack('>HHIH', 12, 1, 60, len(rdata)) + rdata
        count = 1
    elif not lname.endswith('.slow.test') or '.' in lname[:-len('.slow.test')] or lname == 'missing.slow.test':
        rcode = 3
    elif qtype == 1:
        records = b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 60, 4) + address_of(lname)
        count = 1
    head = struct.pack('>HHHHHH', qid, 0x8400 | (flags & 0x0100) | rcode, 1, count, 0, 0)
    return head + question + records, name, qtype


def main():
    addr, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    lock = threading.Lock()
    print('ready', flush=True)

    def reply(data, peer):
        try:
            out, name, qtype = answer(data)
        except Exception:  # a malformed query: no answer
            return
        with lock:
            print(f'query {name} {qtype}', flush=True)
        time.sleep(delay)
        s.sendto(out, peer)

    while True:
        data, peer = s.recvfrom(4096)
        threading.Thread(target=reply, args=(data, peer), daemon=True).start()


if __name__ == '__main__':
    main()
