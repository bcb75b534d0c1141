"""Approvals: a program pauses at a call that needs a person's decision, then continues.

Run it: `.venv/bin/python examples/approvals.py`. The program makes three allowed calls,
reaches `billing.refund` (policy "approve") and stops there; approving it runs the refund
and the rest of the program, without repeating the calls made before the pause.
"""

from codemode import CodeMode

refunds: list[str] = []


def find_disputed(limit: int = 3) -> list[dict[str, object]]:
    """Disputed invoices, newest first."""
    return [{"id": f"inv_{n}", "amount": 40 + n} for n in range(limit)]


def refund(invoice: str, amount: float) -> str:
    """Refund an invoice (money leaves the account: needs approval)."""
    refunds.append(invoice)
    return f"refunded {amount} on {invoice}"


PROGRAM = """
disputed = billing.find_disputed(limit=3)
small = [i for i in disputed if i["amount"] < 42]
print(f"{len(small)} of {len(disputed)} disputes are small")
done = [billing.refund(invoice=i["id"], amount=i["amount"]) for i in small]
done
"""

if __name__ == "__main__":
    with CodeMode(store="memory://") as cm:
        cm.add_function(find_disputed, namespace="billing")
        # approve_run: one approval covers every refund of this run.
        cm.add_function(refund, namespace="billing", policy="approve_run")

        paused = cm.execute(PROGRAM)
        print(paused.status, paused.pending)
        print("refunds so far:", refunds)

        # A person looks at paused.pending and decides (here, or with
        # `codemode approve ID` from another process sharing the store).
        finished = cm.resume(paused.approval_id or "", approve=True)
        print(finished.status, finished.result)
        print(f"{len(finished.tool_calls)} tool calls in all; refunds: {refunds}")
