import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Something with a deadline: a call on the client or the server. The queue keeps its two
 * bookkeeping fields on it, so scheduling and cancelling allocate nothing.
 */
export interface DeadlineEntry {
  /** The queue's own: the entry's index in the heap, -1 while not queued. Start at -1. */
  deadlineSlot: number;
  /** The queue's own: when the deadline passes, on `performance.now()`'s scale (whole ms). */
  deadlineAt: number;
  /** Called once when the deadline passes, unless cancelled before. Must not throw. */
  deadlinePassed(): void;
}

/*
 * Written by hand (no library does this): one timer for every deadline in the process instead
 * of a `setTimeout` per call. A Node timer costs each call a `Timeout` object, an async id, an
 * insertion into node's timer lists (with a read of libuv's clock) and an unlink, and the
 * server's version also a closure; profiles of the client and the server under load showed
 * them among what a call with a deadline pays over one without. Here a call costs O(1) in the
 * common case: a deadline no earlier than the last one queued (one timeout, calls in start
 * order) goes at the end of a FIFO that stays sorted, and leaves it by becoming a hole that the
 * head skips. Any other deadline goes into a binary min-heap (O(log n) in and out). The
 * earliest deadline is the earlier of the FIFO's head and the heap's root.
 *
 * The timer is armed for the earliest deadline and is not re-armed when that call ends first
 * (the common case): it then fires early, finds nothing due, and re-arms for the new earliest,
 * about once per timeout period under steady load. A deadline never fires early — only when
 * `performance.now()` has reached it, so up to about 1 ms late, as node's timers are. While no
 * deadline is queued the timer is unref'd, so the queue never keeps a process alive that its
 * calls would not (each call used to hold its own ref'd timer just as long).
 */
// An entry's `deadlineSlot`: -1 not queued; i ≥ 0 at heap[i]; ≤ -2 at fifo[-2 - slot].
const notQueued = -1;

// The FIFO: entries in deadline order from fifoHead (inclusive) to fifoTail (exclusive), holes
// where calls ended. It is compacted (live part moved to the front, their slots renumbered) when
// the dead front grows large, and reset when it empties: its array never shrinks.
const fifo: (DeadlineEntry | undefined)[] = [];
let fifoHead = 0;
let fifoTail = 0;
let fifoCount = 0;
/** The deadline last added to the FIFO (it may have left since): later ones may follow it. */
let fifoLastAt = Number.NEGATIVE_INFINITY;
const compactAfter = 1024;

// The heap's array never shrinks: `size` says how much of it is in use, so calls coming and
// going do not make V8 shrink and regrow its backing store. Slots past `size` are cleared.
const heap: (DeadlineEntry | undefined)[] = [];
let size = 0;
let timer: NodeJS.Timeout | undefined;
/** When the armed timer fires (performance.now() scale); +Infinity when none is armed. */
let armedAt = Number.POSITIVE_INFINITY;
/** Node caps a timer's delay at 2^31 - 1 ms (longer ones fire after 1 ms, with a warning). */
const maxDelayMs = 2 ** 31 - 1;

// The timer is made outside any call's async context: it fires for many calls, and must not
// keep the context of the one that happened to arm it alive.
// Taken on first use: a process that never arms a deadline loads none of it.
let outsideAnyContext: ReturnType<typeof AsyncLocalStorage.snapshot> | undefined;

/** Calls `entry.deadlinePassed()` once `timeoutMs` have passed, unless `cancelDeadline` first. */
export function scheduleDeadline(entry: DeadlineEntry, timeoutMs: number): void {
  if (entry.deadlineSlot !== notQueued) cancelDeadline(entry);
  // Whole milliseconds, rounded up (never early): a small integer, which V8 keeps in the
  // entry's field as is, where a fractional one would box a heap number per call.
  const at = Math.ceil(performance.now() + timeoutMs);
  entry.deadlineAt = at;
  if (at >= fifoLastAt) {
    fifoLastAt = at;
    entry.deadlineSlot = -2 - fifoTail;
    fifo[fifoTail++] = entry;
    fifoCount++;
  } else {
    heapInsert(entry, at);
  }
  if (at < armedAt) arm(at);
  else if (size + fifoCount === 1) timer?.ref();
}

/** Forgets `entry`'s deadline (its call ended); nothing happens if it is not queued. */
export function cancelDeadline(entry: DeadlineEntry): void {
  const slot = entry.deadlineSlot;
  if (slot === notQueued) return;
  entry.deadlineSlot = notQueued;
  if (slot >= 0) removeAt(slot);
  else fifoRemove(-2 - slot);
  if (size + fifoCount === 0) timer?.unref();
}

/** Deadlines queued now, for tests and leak checks. */
export function queuedDeadlines(): number {
  return size + fifoCount;
}

function fifoRemove(index: number): void {
  fifo[index] = undefined;
  fifoCount--;
  if (fifoCount === 0) {
    // Empty (every slot a hole): start again at the front; the array keeps its capacity.
    fifoHead = 0;
    fifoTail = 0;
    fifoLastAt = Number.NEGATIVE_INFINITY;
    return;
  }
  if (index !== fifoHead) return;
  while (fifo[fifoHead] === undefined) fifoHead++;
  if (fifoHead >= compactAfter && fifoHead * 2 >= fifoTail) compact();
}

/** Moves the FIFO's live part (holes kept) to the front, renumbering its entries' slots. */
function compact(): void {
  const shift = fifoHead;
  for (let i = fifoHead; i < fifoTail; i++) {
    const entry = fifo[i];
    fifo[i] = undefined;
    fifo[i - shift] = entry;
    if (entry !== undefined) entry.deadlineSlot = -2 - (i - shift);
  }
  fifoTail -= shift;
  fifoHead = 0;
}

function heapInsert(entry: DeadlineEntry, at: number): void {
  let index = size++;
  while (index > 0) {
    const parentIndex = (index - 1) >> 1;
    const parent = heap[parentIndex] as DeadlineEntry;
    if (parent.deadlineAt <= at) break;
    heap[index] = parent;
    parent.deadlineSlot = index;
    index = parentIndex;
  }
  heap[index] = entry;
  entry.deadlineSlot = index;
}

/** The queued entry whose deadline comes first, if any. */
function earliest(): DeadlineEntry | undefined {
  const a = fifoCount > 0 ? fifo[fifoHead] : undefined;
  const b = size > 0 ? heap[0] : undefined;
  if (a === undefined) return b;
  return b === undefined || a.deadlineAt <= b.deadlineAt ? a : b;
}

function removeAt(index: number): void {
  size--;
  const last = heap[size] as DeadlineEntry;
  heap[size] = undefined;
  if (index === size) return;
  heap[index] = last;
  last.deadlineSlot = index;
  siftDown(index);
  if (last.deadlineSlot === index) siftUp(index);
}

function siftUp(start: number): void {
  let index = start;
  const entry = heap[index] as DeadlineEntry;
  while (index > 0) {
    const parentIndex = (index - 1) >> 1;
    const parent = heap[parentIndex] as DeadlineEntry;
    if (parent.deadlineAt <= entry.deadlineAt) break;
    heap[index] = parent;
    parent.deadlineSlot = index;
    index = parentIndex;
  }
  heap[index] = entry;
  entry.deadlineSlot = index;
}

function siftDown(start: number): void {
  let index = start;
  const entry = heap[index] as DeadlineEntry;
  const length = size;
  for (;;) {
    const left = 2 * index + 1;
    if (left >= length) break;
    const right = left + 1;
    let child = left;
    let childEntry = heap[left] as DeadlineEntry;
    if (right < length) {
      const rightEntry = heap[right] as DeadlineEntry;
      if (rightEntry.deadlineAt < childEntry.deadlineAt) {
        child = right;
        childEntry = rightEntry;
      }
    }
    if (entry.deadlineAt <= childEntry.deadlineAt) break;
    heap[index] = childEntry;
    childEntry.deadlineSlot = index;
    index = child;
  }
  heap[index] = entry;
  entry.deadlineSlot = index;
}

function arm(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  armedAt = at;
  const delay = Math.min(maxDelayMs, Math.max(1, Math.ceil(at - performance.now())));
  outsideAnyContext ??= AsyncLocalStorage.snapshot();
  timer = outsideAnyContext(setTimeout, fire, delay);
}

/** The timer fired: every deadline due now passes, in order; then re-arm for the next one. */
function fire(): void {
  timer = undefined;
  armedAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  for (;;) {
    const first = earliest();
    if (first === undefined || first.deadlineAt > now) break;
    cancelDeadline(first);
    try {
      first.deadlinePassed();
    } catch (error) {
      // A callback that throws must not stop the others: report it as node would.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
  const next = earliest();
  if (next !== undefined && next.deadlineAt < armedAt) arm(next.deadlineAt);
}
