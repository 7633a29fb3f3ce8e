"""The bridge between `kas search --engine ray[:ADDR]` and a Ray cluster.

kas starts it as `python kas_ray.py ADDRESS` and writes one JSON request per line on its
standard input: {"id": N, "argv": [...], "stdin": TEXT, "gpus": G}. Each request becomes one
Ray task (no retries: kas decides what runs again) that runs `argv` on a worker host with
`stdin` on its standard input, holding G GPUs. The bridge answers, one JSON line per request
in the order they end, {"id": N, "stdout": TEXT} when the command exited with status 0, else
{"id": N, "lost": WHY} (the task, its worker or its node failed, or the command was killed or
failed). It ends when its standard input closes.
"""

import json
import subprocess
import sys
import threading

import ray


@ray.remote(max_retries=0)
def run(argv, stdin):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    address = sys.argv[1] if len(sys.argv) > 1 else "auto"
    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    out = threading.Lock()

    def answer(reply):
        with out:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()

    def wait(rid, ref):
        try:
            code, stdout, stderr = ray.get(ref)
        except Exception as e:  # every Ray failure is a lost task
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            answer({"id": rid, "lost": f"{type(e).__name__}: {first}"})
            return
        if code == 0:
            answer({"id": rid, "stdout": stdout})
        else:
            last = (stderr.strip().splitlines() or [""])[-1]
            answer({"id": rid, "lost": f"kas internal evaluate exited with status {code}: {last}"})

    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        ref = run.options(num_gpus=req.get("gpus", 0)).remote(req["argv"], req["stdin"])
        threading.Thread(target=wait, args=(req["id"], ref), daemon=True).start()


if __name__ == "__main__":
    main()
