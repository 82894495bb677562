# Peer row for `npm run bench:xapi`: Python's xmlrpc.client (what the XenAPI.py SDK uses) decoding
# a VM.get_all_records body file. Usage: python3 bench/peers/python-xmlrpc.py BODY_FILE [rounds]
# Prints JSON {"ms": [...], "records": n}.
import json
import sys
import time
import xmlrpc.client

body = open(sys.argv[1], "rb").read()
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
ms = []
records = 0
for _ in range(rounds):
    t0 = time.perf_counter()
    params, _method = xmlrpc.client.loads(body)
    ms.append((time.perf_counter() - t0) * 1000)
    result = params[0]
    records = len(result.get("Value", result))
print(json.dumps({"ms": ms, "records": records}))
