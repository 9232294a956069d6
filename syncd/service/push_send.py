"""Send one claimed batch of one operation through the LiveVox client; one outcome per row.

- update / deactivate: bulk update, bisected on a short count; a lone bad row is replayed
  with the single-contact update (`PUT /contact/contacts/{account}`) for LiveVox's reason.
- dnd: multi-contact DND, step by step: step 1 of every row of the batch (bisected like an
  update), then step 2 of the rows whose step 1 went through, so a two-step move keeps its
  order per contact. A lone bad entry is replayed through the single-contact DND endpoint.
- create: bulk create cannot be bisected (re-sending a half meets the contacts the first call
  created, which LiveVox skips as duplicates, so every probe looks short). On a short count a
  search by account tells which rows exist now: those count as applied (created now, or
  "already exists", which is success for a create); each missing row is replayed through the
  single create for LiveVox's reason (202 "already exists" counts as applied there too).
- delete: one by one; a 404 means the contact is already gone, which is what was asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from syncd.crashpoints import crashpoint
from syncd.livevox import (
    BadRequestError,
    BulkResult,
    ContactCreate,
    ContactDnd,
    ContactUpdate,
    CreateOutcome,
    LiveVoxClient,
    LiveVoxError,
    NotFoundError,
    RuleOperator,
    SearchCondition,
    SearchNode,
    SearchOperator,
    SearchRule,
    TransientError,
)
from syncd.service.push_bisect import (
    APPLIED,
    BatchAbortedError,
    BulkSender,
    RowOutcome,
    RowStatus,
    outcome_of_error,
)
from syncd.service.push_wire import single_update

T = TypeVar("T")

SEARCH_CHUNK = 100
"""Accounts per existence search after a short bulk create (an OR tree of that many leaves)."""


class CallCounter:
    """Counts the client calls the pusher makes (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0

    def wrap(self, call: Callable[..., T]) -> Callable[..., T]:
        def counted(*args: Any, **kwargs: Any) -> T:
            with self._lock:
                self.calls += 1
            return call(*args, **kwargs)

        return counted


class BatchSender:
    """The per-operation send strategies over one client."""

    def __init__(self, client: LiveVoxClient, counter: CallCounter) -> None:
        self.client = client
        self.counter = counter

    # --- update / deactivate ----------------------------------------------------------

    def updates(self, models: Sequence[ContactUpdate]) -> list[RowOutcome]:
        bulk = self.counter.wrap(self.client.bulk_update_contacts)
        single = self.counter.wrap(self.client.update_contact)

        def replay(update: ContactUpdate) -> RowOutcome:
            single(single_update(update))
            return APPLIED

        return BulkSender(bulk, replay).resolve(models)

    # --- dnd --------------------------------------------------------------------------

    def dnd(self, steps: Sequence[Sequence[ContactDnd]]) -> list[RowOutcome]:
        """`steps[i]` are row i's ordered entries; a row fails at its first failed step."""
        bulk = self.counter.wrap(self.client.update_contacts_dnd)
        outcomes: list[RowOutcome] = [APPLIED] * len(steps)
        active = [i for i, row_steps in enumerate(steps) if row_steps]
        step = 0
        while active:
            due = [i for i in active if step < len(steps[i])]
            if not due:
                break
            results = BulkSender(bulk, self._replay_dnd).resolve([steps[i][step] for i in due])
            for i, outcome in zip(due, results, strict=True):
                outcomes[i] = outcome  # the last step's outcome, or the first failure
            active = [i for i, o in zip(due, results, strict=True) if o.status is RowStatus.APPLIED]
            if any(step + 1 < len(steps[i]) for i in active):
                crashpoint("push.dnd_between_steps")
            step += 1
        return outcomes

    def _replay_dnd(self, entry: ContactDnd) -> RowOutcome:
        if entry.update_contact_dnd:
            self.counter.wrap(self.client.update_contact_dnd)(
                entry.account, entry.update_contact_dnd
            )
        if entry.account_block is not None:
            # the single DND endpoint addresses phones; the account's flags go by update
            self.counter.wrap(self.client.update_contact)(
                ContactUpdate(account=entry.account, account_block=entry.account_block)
            )
        return APPLIED

    # --- create -----------------------------------------------------------------------

    def creates(self, models: Sequence[ContactCreate]) -> list[RowOutcome]:
        if not models:
            return []
        try:
            result: BulkResult = self.counter.wrap(self.client.bulk_create_contacts)(models)
        except TransientError as exc:
            return [outcome_of_error(exc)] * len(models)
        except BadRequestError:
            if len(models) == 1:
                return [self._replay_create(models[0])]
            middle = len(models) // 2  # the request applied nothing: send both halves
            return self.creates(models[:middle]) + self.creates(models[middle:])
        except LiveVoxError as exc:
            raise BatchAbortedError(exc) from exc
        created = RowOutcome(RowStatus.APPLIED, result.status)
        if result.applied is None or result.applied >= len(models):
            return [created] * len(models)
        try:
            existing = self._existing([m.account for m in models])
        except TransientError as exc:
            return [outcome_of_error(exc)] * len(models)
        except LiveVoxError as exc:
            raise BatchAbortedError(exc) from exc
        return [created if m.account in existing else self._replay_create(m) for m in models]

    def _replay_create(self, model: ContactCreate) -> RowOutcome:
        try:
            created = self.counter.wrap(self.client.create_contact)(model, exist_ok=True)
        except LiveVoxError as exc:
            return outcome_of_error(exc)
        if created.outcome is CreateOutcome.CREATED:
            return RowOutcome(RowStatus.APPLIED, 201)
        return RowOutcome(RowStatus.APPLIED, 202, note="already exists")

    def _existing(self, accounts: Sequence[str]) -> set[str]:
        """Which of these accounts LiveVox has now (searches of SEARCH_CHUNK accounts)."""
        search = self.counter.wrap(self.client.search_contacts)
        found: set[str] = set()
        wanted = set(accounts)
        for start in range(0, len(accounts), SEARCH_CHUNK):
            chunk = list(accounts[start : start + SEARCH_CHUNK])
            page = search(_any_account(chunk), count=1000)
            found |= {c.account for c in page.items if c.account in wanted}
        return found

    # --- delete -----------------------------------------------------------------------

    def deletes(self, accounts: Sequence[str]) -> list[RowOutcome]:
        delete = self.counter.wrap(self.client.delete_contact)
        outcomes = []
        for account in accounts:
            try:
                delete(account)
                outcomes.append(APPLIED)
            except NotFoundError:
                outcomes.append(RowOutcome(RowStatus.APPLIED, note="already gone"))
            except LiveVoxError as exc:
                outcomes.append(outcome_of_error(exc))
        return outcomes


def _any_account(accounts: list[str]) -> SearchNode:
    """A balanced OR tree of `account EQUALS a` (depth log2 of the leaves)."""
    leaves: list[SearchNode] = [
        SearchCondition(field="account", criteria=a, condition=SearchOperator.EQUALS)
        for a in accounts
    ]
    while len(leaves) > 1:
        paired: list[SearchNode] = [
            SearchRule(rule=RuleOperator.OR, left=leaves[i], right=leaves[i + 1])
            for i in range(0, len(leaves) - 1, 2)
        ]
        if len(leaves) % 2:
            paired.append(leaves[-1])
        leaves = paired
    return leaves[0]
