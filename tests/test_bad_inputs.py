"""Every wrong input is refused up front with one line: a table of bad inputs across all commands
and sweep-spec keys (issue 21).

Each row is a command line and a fragment of the message expected. Every row must end with exit
status 2, exactly one line on stderr starting ``netsim: error: `` and holding the fragment, no
traceback, nothing on stdout, and quickly (a row that started the work it should have refused
would take far longer than the bound). Rows run in-process through `netsim.cli.main`; a few run
as real subprocesses to check the exit status end to end.

Placeholders: ``{tmp}`` is a fresh folder, ``{file}`` a text file in it, ``{spec}`` a spec file
written from the row's spec text, ``{table}`` a small sweep table (loss 0 and 0.02, two delays).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netsim.cli import main

#: Generous: every row is refused before any simulation starts (~0.1 s each here).
BOUND_SECONDS = 10.0

# (command line, expected fragment of the one-line message)
CLI_ROWS: list[tuple[str, str]] = [
    # ---- sim: times (a unit is required; negatives reach the validator)
    ("sim --delay -1ms", "--delay: '-1ms' is negative; a time must be 0 or more"),
    ("sim --delay=-1ms", "--delay: '-1ms' is negative"),
    ("sim --delay -.5s", "--delay: '-.5s' is negative"),
    ("sim --delay 10", "--delay: '10' has no unit; add one (10ms, 10s)"),
    ("sim --delay 0.5", "--delay: '0.5' has no unit; add one (0.5ms, 0.5s)"),
    ("sim --delay 10xs", "--delay: '10xs' is not a time"),
    ("sim --delay ten", "--delay: 'ten' is not a time"),
    ("sim --delay ''", "--delay: '' is not a time"),
    ("sim --delay nan", "--delay: 'nan' is not a time"),
    ("sim --delay 1e999s", "--delay: '1e999s' is not a finite number"),
    ("sim --delay 10ms10ms", "--delay: '10ms10ms' is not a time"),
    ("sim --delay", "--delay: expected one argument"),
    ("sim --jitter -5ms", "--jitter: '-5ms' is negative"),
    ("sim --jitter 3", "--jitter: '3' has no unit"),
    ("sim --time-limit 0", "--time-limit: '0' is not a positive time"),
    ("sim --time-limit -1s", "--time-limit: '-1s' is negative"),
    ("sim --time-limit 5", "--time-limit: '5' has no unit"),
    # ---- sim: rates
    ("sim --rate 100", "--rate: '100' has no unit; add one (100Mbit"),
    ("sim --rate 0", "--rate: '0' is not a positive rate"),
    ("sim --rate -5Mbit", "--rate: '-5Mbit' is negative; a rate must be more than 0"),
    ("sim --rate fast", "--rate: 'fast' is not a rate"),
    ("sim --rate 100Mbitz", "--rate: '100Mbitz' is not a rate"),
    ("sim --rate 1e999Mbit", "--rate: '1e999Mbit' is not a finite number"),
    # ---- sim: queue, MTU, MSS
    ("sim --queue -1", "--queue: '-1' is not a queue limit"),
    ("sim --queue abc", "--queue: 'abc' is not a queue limit"),
    ("sim --queue 1.5", "--queue: '1.5' is not a queue limit"),
    ("sim --queue 10XB", "--queue: '10XB' is not a queue limit"),
    # ---- sim: queue disciplines (tc-like words in one argument)
    ("sim --qdisc pie", "--qdisc: 'pie' is not a queue discipline; use "
     "droptail|codel|fq_codel|red"),
    ("sim --qdisc ''", "--qdisc: '' is not a queue discipline; use droptail|codel|fq_codel|red"),
    ("sim --qdisc 'codel target'", "--qdisc: codel target needs a value, e.g. 'codel target 5ms'"),
    ("sim --qdisc 'codel target 5'", "--qdisc: codel target: '5' has no unit; add one (5ms, 5s)"),
    ("sim --qdisc 'codel target 0ms'", "--qdisc: codel target: '0ms' is not a positive time"),
    ("sim --qdisc 'codel interval -1ms'", "--qdisc: codel interval: '-1ms' is negative"),
    ("sim --qdisc 'codel limit 0'", "--qdisc: codel limit: '0' is not allowed; use a whole "
     "number 1..10000000"),
    ("sim --qdisc 'codel quantum 300'", "--qdisc: 'quantum' is not a parameter of codel; use "
     "target, interval, limit, ecn"),
    ("sim --qdisc 'codel ecn ecn'", "--qdisc: codel ecn is given twice"),
    ("sim --qdisc 'fq_codel flows 0'", "--qdisc: fq_codel flows: '0' is not allowed; use a "
     "whole number 1..65536"),
    ("sim --qdisc 'fq_codel quantum 1.5'", "--qdisc: fq_codel quantum: '1.5' is not allowed"),
    ("sim --qdisc 'red min 20 max 10'", "--qdisc: red min 20 is not below max 10; use min < max"),
    ("sim --qdisc 'red probability 2'", "--qdisc: red probability: '2' is not allowed; use a "
     "number in (0, 1]"),
    ("sim --qdisc 'red weight nan'", "--qdisc: red weight: 'nan' is not allowed"),
    ("sim --qdisc 'droptail limit -3'", "--qdisc: droptail limit: '-3' is not allowed"),
    ("sim --qdisc 'droptail bytes 10XB'", "--qdisc: droptail bytes: '10XB' is not a size"),
    ("demo --out {tmp}/d --qdisc codel5ms", "--qdisc: 'codel5ms' is not a queue discipline"),
    ("ping --qdisc 'fq_codel flows'", "--qdisc: fq_codel flows needs a value"),
    ("sim --qdisc nothere.py:Q", "--qdisc: no such file 'nothere.py'"),
    ("sim --qdisc {tmp}/x.txt:Q", "is not a .py file; use path/to/file.py:ClassName"),
    ("sim --qdisc 'mine.py:Q limit 5'", "--qdisc: 'limit': a discipline from a file takes no "
     "parameters here"),
    ("sim --mtu 67", "--mtu: '67' is not an MTU; use a whole number of bytes, 68..65535"),
    ("sim --mtu 68", "--mtu: 68 cannot carry one TCP segment"),
    ("sim --mtu 100", "= 116 bytes; use 116..65535"),
    ("sim --mtu 115", "--mtu: 115 cannot carry one TCP segment"),
    ("sim --mtu 65536", "--mtu: '65536' is not an MTU"),
    ("sim --mtu -1", "--mtu: '-1' is not an MTU"),
    ("sim --mtu 1500.5", "--mtu: '1500.5' is not an MTU"),
    ("sim --mtu big", "--mtu: 'big' is not an MTU"),
    ("sim --mss 0", "--mss: 0 does not fit; use payload bytes per segment from 64 to 1448"),
    ("sim --mss 63", "--mss: 63 does not fit"),
    ("sim --mss 1449", "--mss: 1449 does not fit; use payload bytes per segment from 64 to 1448"),
    ("sim --mss -1", "--mss: '-1' is negative"),
    ("sim --mss abc", "--mss: 'abc' is not a size"),
    ("sim --mss 100 --mtu 150", "--mss: 100 does not fit; use payload bytes per segment from 64 "
     "to 98 (MTU 150"),
    ("sim --mss 9000", "--mss: 9000 does not fit"),
    # ---- sim: probabilities and the loss model
    ("sim --loss 1.5", "--loss: '1.5' is not a probability; use a number from 0 to 1"),
    ("sim --loss -0.1", "--loss: '-0.1' is not a probability"),
    ("sim --loss 2%", "--loss: '2%' is not a probability"),
    ("sim --loss nan", "--loss: 'nan' is not a probability"),
    ("sim --loss inf", "--loss: 'inf' is not a probability"),
    ("sim --loss-model foo", "--loss-model: 'foo' is not a loss model"),
    ("sim --loss-burst 0.5", "--loss-burst: '0.5' is not a burst length"),
    ("sim --loss-burst -1", "--loss-burst: '-1' is not a burst length"),
    ("sim --reorder 2", "--reorder: '2' is not a probability"),
    ("sim --duplicate -1", "--duplicate: '-1' is not a probability"),
    ("sim --corrupt x", "--corrupt: 'x' is not a probability"),
    # ---- sim: sizes, counts, seeds, congestion control
    ("sim --bytes 0", "--bytes: '0' is too small; send at least 1 byte"),
    ("sim --bytes -1", "--bytes: '-1' is negative"),
    ("sim --bytes 1.5B", "--bytes: '1.5B' is not a whole number of bytes"),
    ("sim --bytes 10XB", "--bytes: '10XB' is not a size"),
    ("sim --bytes ''", "--bytes: '' is not a size"),
    ("sim --seed -1", "--seed: -1 is not a seed; use a whole number 0.."),
    ("sim --seed x", "--seed: invalid int value: 'x'"),
    ("sim --seed 1.5", "--seed: invalid int value: '1.5'"),
    ("sim --flows 0", "--flows: '0' is not a number of connections; use a whole number 1..1000"),
    ("sim --flows 1001", "--flows: '1001' is not a number of connections"),
    ("sim --flows two", "--flows: 'two' is not a number of connections"),
    ("sim --flows -3", "--flows: '-3' is not a number of connections"),
    ("sim --rack=yes", "--rack/--no-rack: ignored explicit argument 'yes'"),
    ("sim --no-rack=0", "--rack/--no-rack: ignored explicit argument '0'"),
    ("sim --cc vegas", "--cc: unknown congestion control 'vegas'"),
    ("sim --cc {tmp}/nope.py:X", "--cc: no such file"),
    ("sim --cc {file}:X", "is not a .py file"),
    ("sim --cc :X", "--cc: ':X' is not path/to/file.py:ClassName"),
    # ---- sim: size limits (estimates stated; --allow-large lifts them)
    ("sim --bytes 1TB", "--bytes: 1 TB is about 691 million segments, roughly"),
    ("sim --bytes 1TB", "pass --allow-large to run it anyway"),
    ("sim --bytes 20GB", "of wall time (the limit is 10 min)"),
    ("sim --bytes 100GB --mss 64 --mtu 116", "--bytes: 100 GB is about"),
    ("sim --bytes 2GB --pcap {tmp}/x.pcap", "--bytes: 2 GB would write a pcap of about 2.17 GB "
     "(the limit is 1 GB)"),
    ("sim --bytes 1GB --trace {tmp}/t.jsonl", "trace records in memory (the limit is 2,000,000)"),
    ("sim --bytes 1GB --plot {tmp}/p.png", "--bytes: 1 GB would keep about"),
    ("sim --bytes 500MB --flows 100", "--bytes: 50 GB is about"),
    # ---- sim: output paths and plain argparse mistakes
    ("sim --trace {tmp}/nodir/t.jsonl", "--trace: cannot write"),
    ("sim --plot {tmp}/p.txt", "--plot: '{tmp}/p.txt' needs a figure extension"),
    ("sim --plot {tmp}/nodir/p.png", "--plot: cannot write"),
    ("sim --pcap {tmp}/nodir/x.pcap --bytes 10kB", "--pcap: cannot write"),
    ("sim --progress maybe", "--progress: invalid choice: 'maybe'"),
    ("sim --bogus", "unrecognized arguments: --bogus"),
    ("sim extra", "unrecognized arguments: extra"),
    ("nosuchcommand", "COMMAND: invalid choice: 'nosuchcommand'"),
    # ---- demo
    ("demo --out {tmp}/d --bytes 0", "--bytes: '0' is too small; send at least 1 byte"),
    ("demo --out {tmp}/d --bytes 1TB", "--bytes: 1 TB is about"),
    ("demo --out {tmp}/d --bytes 1GB", "would write a pcap of about"),
    ("demo --out {tmp}/d --ladder 100000", "--ladder: 100000 segments make a ladder figure of "
     "about"),
    ("demo --out {tmp}/d --ladder 100000", "million pixels (the limit is 25 million); pass "
     "--allow-large"),
    ("demo --out {tmp}/d --ladder 1", "--ladder: '1' is not allowed; use a whole number 2.."),
    ("demo --out {tmp}/d --ladder -5", "--ladder: '-5' is not allowed"),
    ("demo --out {tmp}/d --ladder x", "--ladder: 'x' is not allowed"),
    ("demo --out {tmp}/d --cc bogus", "--cc: 'bogus' is not one of"),
    ("demo --out {tmp}/d --rack=on", "--rack/--no-rack: ignored explicit argument 'on'"),
    ("demo --out {tmp}/d --delay 10", "--delay: '10' has no unit"),
    ("demo --out {tmp}/d --delay -1ms", "--delay: '-1ms' is negative"),
    ("demo --out {tmp}/d --mtu 100", "--mtu: 100 cannot carry one TCP segment"),
    ("demo --out {tmp}/d --loss 1.5", "--loss: '1.5' is not a probability"),
    ("demo --out {tmp}/d --rate 0", "--rate: '0' is not a positive rate"),
    ("demo --out {tmp}/d --rate 10", "--rate: '10' has no unit"),
    ("demo --out {tmp}/d --progress x", "--progress: invalid choice"),
    ("demo --out {tmp}/d --jitter -1ms", "--jitter: '-1ms' is negative"),
    ("demo --out {tmp}/d --seed -2", "--seed: -2 is not a seed"),
    ("demo --out {tmp}/d --queue -3", "--queue: '-3' is not a queue limit"),
    ("demo --out {tmp}/d --reorder 1.1", "--reorder: '1.1' is not a probability"),
    ("demo --out {file}/sub --bytes 10kB", "--out: cannot create"),
    # ---- echo
    ("echo --msl 0", "--msl: '0' is not a positive time"),
    ("echo --msl -1s", "--msl: '-1s' is negative"),
    ("echo --msl 5", "--msl: '5' has no unit"),
    ("echo --mtu 100", "--mtu: 100 cannot carry one TCP segment"),
    ("echo --delay 10", "--delay: '10' has no unit"),
    ("echo --rate 0", "--rate: '0' is not a positive rate"),
    ("echo --loss 2", "--loss: '2' is not a probability"),
    ("echo --seed -1", "--seed: -1 is not a seed"),
    ("echo --pcap {tmp}/nodir/x.pcap", "--pcap: cannot write"),
    # ---- ping
    ("ping -c 0", "--count: '0' is not allowed; use a whole number 1..10000000"),
    ("ping -c -1", "--count: '-1' is not allowed"),
    ("ping --count x", "--count: 'x' is not allowed"),
    ("ping -c 10000000", "--count: 10,000,000 pings across 2 links take roughly"),
    ("ping --interval 5", "--interval: '5' has no unit"),
    ("ping --interval -1s", "--interval: '-1s' is negative"),
    ("ping --size -1", "--size: '-1' is not allowed"),
    ("ping --size 70000", "--size: '70000' is not allowed"),
    ("ping --ttl 0", "--ttl: '0' is not allowed; use a whole number 1..255"),
    ("ping --ttl 256", "--ttl: '256' is not allowed"),
    ("ping --hops -1", "--hops: '-1' is not allowed; use a whole number 0..64"),
    ("ping --hops 65", "--hops: '65' is not allowed"),
    ("ping --hops x", "--hops: 'x' is not allowed"),
    ("ping --delay 10", "--delay: '10' has no unit"),
    ("ping --mtu 10", "--mtu: '10' is not an MTU"),
    ("ping --rate 100", "--rate: '100' has no unit"),
    ("ping -6 --size 1453", "--size: 1453 bytes do not fit one IPv6 packet on the 1500-byte MTU"),
    ("ping -6 --mtu 1400 --size 1400", "--size: 1400 bytes do not fit one IPv6 packet on the "
     "1400-byte MTU (netsim does not fragment IPv6); use 0..1352 with -6"),
    ("ping -6 --mtu 1000", "--mtu: 1000 is below IPv6's minimum link MTU of 1280"),
    ("ping -6 --size -1", "--size: '-1' is not allowed"),
    ("ping -6 --ttl 256", "--ttl: '256' is not allowed; use a whole number 1..255"),
    ("ping -6 -c 0", "--count: '0' is not allowed"),
    ("ping -6 --hops 65", "--hops: '65' is not allowed"),
    # ---- traceroute
    ("traceroute --max-hops 0", "--max-hops: '0' is not allowed; use a whole number 1..255"),
    ("traceroute --max-hops 256", "--max-hops: '256' is not allowed"),
    ("traceroute --queries 0", "--queries: '0' is not allowed; use a whole number 1..10"),
    ("traceroute --queries 11", "--queries: '11' is not allowed"),
    ("traceroute --wait 0", "--wait: '0' is not allowed; use a time > 0"),
    ("traceroute --wait 5", "--wait: '5' has no unit"),
    ("traceroute --wait -1s", "--wait: '-1s' is negative"),
    ("traceroute --hops 65", "--hops: '65' is not allowed"),
    ("traceroute --delay -1ms", "--delay: '-1ms' is negative"),
    ("traceroute --loss 1.01", "--loss: '1.01' is not a probability"),
    # ---- pcap
    ("pcap {tmp}/missing.pcap", "no such file"),
    ("pcap {tmp}", "is a directory, not a pcap file"),
    ("pcap {file}", "not a pcap file"),
    ("pcap {file} -c 0", "--count: must be a positive number of frames"),
    ("pcap {file} -c -1", "--count: must be a positive number of frames"),
    ("pcap {file} -c x", "--count: invalid int value: 'x'"),
    ("pcap", "the following arguments are required: FILE"),
    # ---- live (all refused before any TAP is opened)
    ("live send --connect 10.0.0.1:0 --bytes 1", "--connect: '10.0.0.1:0' is not HOST:PORT"),
    ("live send --connect nohost --bytes 1", "--connect: 'nohost' is not HOST:PORT"),
    ("live send --connect 10.0.0.1:9000 --bytes 0", "--bytes: '0' is too small"),
    ("live send --connect 10.0.0.1:9000 --bytes -5", "--bytes: '-5' is negative"),
    ("live send --connect 10.0.0.1:9000", "the following arguments are required: --bytes"),
    ("live echo-server --port 0", "--port: '0' is not a port; use 1..65535"),
    ("live echo-server --port 70000", "--port: '70000' is not a port"),
    ("live sink --count 0", "--count: '0' is not a count"),
    ("live sink --mtu 100", "--mtu: 100 cannot carry one TCP segment"),
    ("live up --mtu 67", "--mtu: '67' is not an MTU; use 68..65535 or auto"),
    ("live echo-server --min-rto 0", "--min-rto: '0' is not in (0, 60] seconds"),
    ("live echo-server --min-rto 5", "--min-rto: '5' has no unit"),
    ("live echo-server --min-rto 61s", "--min-rto: '61s' is not in (0, 60] seconds"),
    ("live sink --delay 10", "--delay: '10' has no unit"),
    ("live sink --loss 2", "--loss: '2' is not a probability"),
    ("live up --seed -1", "--seed: -1 is not a seed"),
    # ---- grade (its rework is issue 15's; only what already works today)
    ("grade", "the following arguments are required: ASSIGNMENT"),
    ("grade 99 x.py", "ASSIGNMENT: unknown assignment '99'"),
    ("grade 02 {tmp}/nope.py", "PATH: no such file"),
    ("grade 02", "PATH: give the student's file (or --batch DIR)"),
    # ---- sweep: flags
    ("sweep {tmp}/nope.toml", "SPEC: no such file"),
    ("sweep {tmp}", "is a folder; give a TOML file"),
    ("sweep {file}", "file.txt: not valid TOML"),
    ("sweep examples/sweeps/quick.toml --workers 0", "--workers: '0' is not a number of workers"),
    ("sweep examples/sweeps/quick.toml --workers -1", "--workers: '-1' is not a number of "
     "workers"),
    ("sweep examples/sweeps/quick.toml --workers x", "--workers: 'x' is not a number of workers"),
    ("sweep examples/sweeps/quick.toml --dask ''", "--dask: empty address"),
    ("sweep examples/sweeps/quick.toml --out {tmp}", "--out: '{tmp}' is a folder"),
    ("sweep examples/sweeps/quick.toml --out {tmp}/nodir/x.csv", "--out: cannot write"),
    ("sweep examples/sweeps/quick.toml --out {tmp}/x.parquet", "the resumable table is CSV"),
    ("sweep examples/sweeps/quick.toml --out {tmp}/o.csv --parquet {tmp}", "--parquet: '{tmp}' "
     "is a folder"),
    ("sweep examples/sweeps/quick.toml --out {tmp}/o.csv --parquet {tmp}/nodir/x.parquet",
     "--parquet: cannot write"),
    # ---- plot-sweep
    ("plot-sweep {tmp}/missing.csv --x loss --y goodput_bps", "TABLE: no such file"),
    ("plot-sweep {table} --x nope --y goodput_bps", "--x: no column 'nope' in the table"),
    ("plot-sweep {table} --x loss --y nope", "--y: no column 'nope'"),
    ("plot-sweep {table} --x loss --y goodput_bps --hue nope", "--hue: no column 'nope'"),
    ("plot-sweep {table} --x loss --y goodput_bps --logx", "--logx: 1 of 2 points have loss <= 0 "
     "(0%), which a log axis cannot show"),
    ("plot-sweep {table} --x cc --y goodput_bps --logx", "--logx: column 'cc' is not numeric"),
    ("plot-sweep {table} --x loss --y retransmissions --logy", "--logy: 1 of 2 points have "
     "retransmissions <= 0"),
    ("plot-sweep {table} --x loss --y cc", "--y: column 'cc' holds 'reno', not a number"),
    ("plot-sweep {table} --x loss --y goodput_bps --out {tmp}/f.txt", "needs a figure extension"),
    ("plot-sweep {table} --x loss --y goodput_bps --out {tmp}/nodir/f.png", "--out: cannot write"),
    ("plot-sweep {table} --x loss --y goodput_bps --err foo", "--err: invalid choice: 'foo'"),
    ("plot-sweep {table} --y goodput_bps", "the following arguments are required: --x"),
    ("plot-sweep {empty} --x loss --y goodput_bps", "TABLE: the table has no rows"),
]

# (spec text, expected fragment): each is `netsim sweep {spec} --out {tmp}/o.csv`
SPEC_ROWS: list[tuple[str, str]] = [
    ("", "spec.toml: empty spec: nothing to sweep"),
    ('description = "only words"\n', "empty spec"),
    ('[scenario]\nbytes = "10kB"\n[vary]\n', "[vary]: empty table; name at least one knob"),
    ("[vary]\nloss = [1.5, -0.1]\n", "[vary] loss[0]: 1.5 is not a probability; use a number "
     "from 0 to 1"),
    ("[vary]\nloss = [0.1, -0.1]\n", "[vary] loss[1]: -0.1 is not a probability"),
    ("[vary]\nloss = {start = -0.1, stop = 0.5, num = 4}\n", "[vary] loss[0]: -0.1 is not a "
     "probability"),
    ("[vary]\nreorder = [2.0]\n", "[vary] reorder[0]: 2.0 is not a probability"),
    ("[vary]\nduplicate = [-1.0]\n", "[vary] duplicate[0]: -1.0 is not a probability"),
    ("[vary]\ncorrupt = [1.5]\n", "[vary] corrupt[0]: 1.5 is not a probability"),
    ("[vary]\nmtu = [100, 1500]\n", "[vary] mtu[0]: 100 cannot carry one TCP segment"),
    ("[vary]\nmtu = [1500, 67]\n", "[vary] mtu[1]: 67 is not an MTU"),
    ("[vary]\nmss = [536, 9000]\n", "[vary] mss[1]: 9000 does not fit"),
    ("[vary]\nmss = [10]\n", "[vary] mss[0]: 10 does not fit"),
    ('[vary]\nbytes = [0, "1MB"]\n', "[vary] bytes[0]: 0 is too small"),
    ('[vary]\nbytes = ["1.5B"]\n', "[vary] bytes[0]: '1.5B' is not a whole number"),
    ('[vary]\ncc = ["reno", "vegas"]\n', "[vary] cc[1]: unknown congestion control 'vegas'"),
    ('[vary]\nloss-model = ["bernoulli", "foo"]\n', "[vary] loss-model[1]: 'foo' is not a "
     "loss model"),
    ("[vary]\nloss-burst = [0.5]\n", "[vary] loss-burst[0]"),
    ("[vary]\nflows = [0, 2]\n", "[vary] flows[0]: 0 is not a number of connections"),
    ("[vary]\nflows = [2000]\n", "[vary] flows[0]: 2000 is not a number of connections"),
    ('[vary]\nqueue = ["abc"]\n', "[vary] queue[0]: 'abc' is not a queue limit"),
    ('[vary]\nqdisc = ["codel target 2"]\n', "[vary] qdisc[0]: codel target: '2' has no unit"),
    ('[vary]\nqdisc = [5]\n', "[vary] qdisc[0]: 5 is an integer; use a string"),
    ('[vary]\ntime-limit = ["0s"]\n', "[vary] time-limit[0]: 0.0 is not a positive time"),
    ("[scenario]\ndelay = 0.01\n", "[scenario] delay: 0.01 has no unit; write the time as a "
     "string with its unit"),
    ('[scenario]\ndelay = "10"\n', "[scenario] delay: '10' has no unit; add one (10ms, 10s)"),
    ("[vary]\ndelay = [0.005, 0.02]\n", "[vary] delay[0]: 0.005 has no unit"),
    ("[vary]\ndelay = {start = 0.001, stop = 0.01, num = 3}\n", "[vary] delay.start: 0.001 has "
     "no unit"),
    ('[vary]\ndelay = ["-1ms"]\n', "[vary] delay[0]: '-1ms' is negative"),
    ("[scenario]\nrate = 1e8\n", "[scenario] rate: 100000000.0 has no unit"),
    ('[vary]\nrate = ["100"]\n', "[vary] rate[0]: '100' has no unit"),
    ('[vary]\nrate = ["0Mbit"]\n', "[vary] rate[0]: '0Mbit' is not a positive rate"),
    ('[scenario]\njitter = "-1ms"\n', "[scenario] jitter: '-1ms' is negative"),
    ("[scenario]\nloss = 1.5\n", "[scenario] loss: 1.5 is not a probability"),
    ("[scenario]\nmtu = 100\n", "[scenario] mtu: 100 cannot carry one TCP segment"),
    ("[scenario]\nmss = 9000\n", "[scenario] mss: 9000 does not fit"),
    ('[scenario]\nbytes = "1TB"\n', "SPEC: 1 run takes roughly"),
    ('[scenario]\nbytes = "1MB"\n[vary]\nloss = {start = 0.001, stop = 0.1, num = 1000}\n'
     "mss = {start = 536, stop = 1448, num = 1000, log = false}\n", "[vary] mss"),
    ('[scenario]\nbytes = "1MB"\n[vary]\nloss = {start = 0.001, stop = 0.1, num = 1000}\n'
     "mtu = {start = 1000, stop = 1999, step = 1}\n", "SPEC: 1,000,000 runs would take about"),
    ('seeds = {count = 100}\n[scenario]\nbytes = "500MB"\n[vary]\nloss = [0.01, 0.02]\n',
     "SPEC: 200 runs take roughly"),
    ("[vary]\nloss = {start = 0.0, stop = 0.1, num = 2000000}\n", "[vary] loss.num: 2000000 "
     "values is too many"),
    ("[vary]\nlose = [0.1]\n", "[vary] lose: unknown knob"),
    ("colour = 1\n", "colour: unknown key"),
    ("seeds = [-1]\n", "seeds[0]: -1 is not a seed"),
    ("seeds = {count = 0}\n", "seeds.count: 0 is not a count"),
    ("[vary]\nloss = []\n", "[vary] loss: empty list"),
    ("[vary]\nloss = [0.1, 0.1]\n", "[vary] loss: 0.1 appears twice"),
    ("[vary]\nloss = {start = 0.1, stop = 0.2, step = 0}\n", "[vary] loss.step: 0 makes an "
     "endless range"),
    ("[vary]\nloss = {start = 0.0, stop = 0.1, num = 3, log = true}\n", "[vary] loss: a log "
     "range needs start > 0"),
    ("[scenario]\nloss = [0.1]\n", "[scenario] loss: is a list"),
    ("[scenario]\ndelay = true\n", "[scenario] delay: True is a boolean"),
    ("[vary\n", "not valid TOML"),
]

TABLE = """run_id,loss,delay,seed,goodput_bps,retransmissions,cc,error,wall_seconds
a,0.0,0.005,1,9000000.0,0,reno,,0.1
b,0.0,0.005,2,9100000.0,0,reno,,0.1
c,0.02,0.005,1,4000000.0,5,reno,,0.1
d,0.02,0.005,2,1000000.0,9,reno,,0.1
e,0.0,0.02,1,3000000.0,0,reno,,0.1
f,0.02,0.02,1,2000000.0,4,reno,,0.1
"""

REPO = Path(__file__).resolve().parent.parent


def _setup(tmp_path: Path, spec: str = "") -> dict[str, str]:
    (tmp_path / "file.txt").write_text("not what was asked for\n")
    (tmp_path / "spec.toml").write_text(spec)
    (tmp_path / "table.csv").write_text(TABLE)
    (tmp_path / "empty.csv").write_text(TABLE.splitlines()[0] + "\n")
    return {"tmp": str(tmp_path), "file": str(tmp_path / "file.txt"),
            "spec": str(tmp_path / "spec.toml"), "table": str(tmp_path / "table.csv"),
            "empty": str(tmp_path / "empty.csv")}


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETSIM_LIMITS", raising=False)


def _run_in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str,
                                                                                  float]:
    start = time.monotonic()
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code if isinstance(exc.code, int) else 1
    took = time.monotonic() - start
    out, err = capsys.readouterr()
    return status, out, err, took


def _check(status: int, out: str, err: str, took: float, expected: str) -> None:
    assert status == 2, (status, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert err.count("\n") == 1 and err.endswith("\n"), f"not one line: {err!r}"
    assert err.startswith("netsim: error: "), err
    assert expected in err, err
    assert out == "", out
    assert took < BOUND_SECONDS, f"took {took:.1f} s"


@pytest.mark.parametrize(("line", "expected"), CLI_ROWS, ids=[r[0] for r in CLI_ROWS])
def test_a_bad_command_line_is_one_line_and_exit_2(
        line: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    places = _setup(tmp_path)
    argv = [arg.format(**places) for arg in shlex.split(line)]
    status, out, err, took = _run_in_process(argv, capsys)
    _check(status, out, err, took, expected.format(**places))
    assert not (tmp_path / "d").exists() or line.startswith("demo --out {file}")


@pytest.mark.parametrize(("spec", "expected"), SPEC_ROWS, ids=[r[1] for r in SPEC_ROWS])
def test_a_bad_sweep_spec_is_refused_before_any_run(
        spec: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    places = _setup(tmp_path, spec)
    argv = ["sweep", places["spec"], "--out", str(tmp_path / "o.csv"), "--workers", "2"]
    status, out, err, took = _run_in_process(argv, capsys)
    _check(status, out, err, took, expected)
    assert not (tmp_path / "o.csv").exists()  # nothing ran


def test_the_table_is_large_enough() -> None:
    assert len(CLI_ROWS) + len(SPEC_ROWS) + len(ENV_ROWS) >= 150
    commands = {shlex.split(line)[0] for line, _ in CLI_ROWS}
    assert {"sim", "demo", "echo", "ping", "traceroute", "pcap", "live", "grade", "sweep",
            "plot-sweep"} <= commands


@pytest.mark.parametrize("line", ["sim --delay -1ms", "sim --delay 10", "sim --bytes 1TB",
                                  "demo --ladder 100000 --out {tmp}/d", "sim --mtu 100"])
def test_end_to_end_in_a_subprocess(line: str, tmp_path: Path) -> None:
    argv = [arg.format(tmp=tmp_path) for arg in shlex.split(line)]
    res = subprocess.run([sys.executable, "-m", "netsim", *argv], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("netsim: error: ")
    assert res.stdout == ""


def test_a_message_that_is_not_utf8_is_sent_as_given(
        capsys: pytest.CaptureFixture[str]) -> None:
    # A byte that is not UTF-8 on the command line arrives as a lone surrogate (PEP 383): it is
    # sent as that byte, not a UnicodeEncodeError traceback.
    assert main(["echo", "--message", "ok\udcff"]) == 0
    out = capsys.readouterr().out
    assert "got b'ok\\xff' back (ok)" in out


ENV_ROWS: list[tuple[str, str, str]] = [
    # The limits are configurable (NETSIM_LIMITS); a bad setting is itself a one-line error.
    ("wall=5s", "sim --bytes 100MB", "roughly 13.9 s of wall time (the limit is 5 s)"),
    ("pcap=1MB", "sim --bytes 2MB --pcap {tmp}/x.pcap", "pcap of about 2.17 MB (the limit is "
     "1 MB)"),
    ("trace=1000", "sim --bytes 1MB --trace {tmp}/t.jsonl", "(the limit is 1,000)"),
    ("pixels=1000000", "demo --out {tmp}/d", "(the limit is 1 million)"),
    ("runs=4", "sweep examples/sweeps/quick.toml --out {tmp}/o.csv", "SPEC: 8 runs would take "
     "about"),
    ("sweep-wall=1s", "sweep examples/sweeps/mathis.toml --out {tmp}/o.csv", "SPEC: 200 runs "
     "take roughly"),
    ("wall=5", "sim", "NETSIM_LIMITS wall: '5' has no unit"),
    ("wall=-1s", "sim", "NETSIM_LIMITS wall: '-1s' is negative"),
    ("pcap=big", "sim", "NETSIM_LIMITS pcap: 'big' is not a size"),
    ("pixels=x", "demo --out {tmp}/d", "NETSIM_LIMITS pixels: 'x' is not a count"),
    ("colour=1", "sim", "NETSIM_LIMITS: 'colour=1' is not NAME=VALUE"),
    ("wall", "sim", "NETSIM_LIMITS: 'wall' is not NAME=VALUE"),
]


@pytest.mark.parametrize(("env", "line", "expected"), ENV_ROWS, ids=[r[0] for r in ENV_ROWS])
def test_limits_come_from_netsim_limits(
        env: str, line: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("NETSIM_LIMITS", env)
    places = _setup(tmp_path)
    argv = [arg.format(**places) for arg in shlex.split(line)]
    status, out, err, took = _run_in_process(argv, capsys)
    _check(status, out, err, took, expected)
