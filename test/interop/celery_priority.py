"""Celery (Debian python3-celery 5.2) task priorities against Baton: a queue declared with
x-max-priority through task_queues/queue_arguments, tasks sent with apply_async(priority=...)
while no worker runs, then one worker (a subprocess: --pool=solo --concurrency=1, acks late,
prefetch multiplier 1) runs them. Each task appends its label to a file; once the last
(lowest-priority) one ran, the order is printed as one JSON line.
Usage: celery_priority.py <port> <workdir> [prefix]   (run as a script; the worker imports it
as the module `celery_priority` with BATON_PORT and BATON_WORKDIR set)."""

import json
import os
import subprocess
import sys
import time

from celery import Celery
from kombu import Exchange, Queue

if __name__ == "__main__":
    os.environ["BATON_PORT"] = sys.argv[1]
    os.environ["BATON_WORKDIR"] = sys.argv[2]
    os.environ["BATON_PREFIX"] = sys.argv[3] if len(sys.argv) > 3 else ""

PORT = os.environ["BATON_PORT"]
WORKDIR = os.environ["BATON_WORKDIR"]
QUEUE = os.environ.get("BATON_PREFIX", "") + "celery-prio"
RAN = os.path.join(WORKDIR, "ran.txt")

app = Celery("celery_priority", broker=f"amqp://guest:guest@127.0.0.1:{PORT}//")
app.conf.update(
    task_queues=[
        Queue(QUEUE, Exchange(QUEUE), routing_key=QUEUE, queue_arguments={"x-max-priority": 10})
    ],
    task_default_queue=QUEUE,
    task_default_exchange=QUEUE,
    task_default_routing_key=QUEUE,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=False,
)


@app.task(name="record")
def record(label):
    with open(RAN, "a") as f:
        f.write(label + "\n")


def main():
    # Declare the queue (with its x-max-priority) before anything is sent to it.
    with app.connection_for_write() as conn:
        q = app.conf.task_queues[0]
        q.bind(conn.default_channel).declare()
    sent = []
    # Interleaved priorities; the last one sent has the lowest priority, so it runs last.
    plan = [(f"p{p}-{i}", p) for i in range(3) for p in (1, 9, 4, 7, 2)]
    for label, p in plan:
        record.apply_async((label,), priority=p)
        sent.append((label, p))
    record.apply_async(("last",), priority=0)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_priority", "worker", "--pool=solo",
         "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-Q", QUEUE, "--loglevel=WARNING"],
        env=env, cwd=WORKDIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        ran = []
        while time.monotonic() < deadline:
            if os.path.exists(RAN):
                with open(RAN) as f:
                    ran = f.read().split()
                if ran and ran[-1] == "last":
                    break
            if worker.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        worker.terminate()
        try:
            _, err = worker.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
    print(json.dumps({"sent": sent, "ran": ran,
                      "worker_stderr": err.decode(errors="replace")[-2000:]}))


if __name__ == "__main__":
    main()
