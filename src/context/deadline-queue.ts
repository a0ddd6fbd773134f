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
 * them among what a call with a deadline pays over one without. Here a call costs a slot in a
 * binary min-heap (usually O(1): a new deadline is most often the latest) and O(log n) to
 * leave it.
 *
 * The timer is armed for the earliest deadline and is not re-armed when that call ends first
 * (the common case): it then fires early, finds nothing due, and re-arms for the new earliest,
 * about once per timeout period under steady load. A deadline never fires early — only when
 * `performance.now()` has reached it, so up to about 1 ms late, as node's timers are. While no
 * deadline is queued the timer is unref'd, so the queue never keeps a process alive that its
 * calls would not (each call used to hold its own ref'd timer just as long).
 */
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
const outsideAnyContext = AsyncLocalStorage.snapshot();

/** Calls `entry.deadlinePassed()` once `timeoutMs` have passed, unless `cancelDeadline` first. */
export function scheduleDeadline(entry: DeadlineEntry, timeoutMs: number): void {
  if (entry.deadlineSlot >= 0) cancelDeadline(entry);
  // Whole milliseconds, rounded up (never early): a small integer, which V8 keeps in the
  // entry's field as is, where a fractional one would box a heap number per call.
  const at = Math.ceil(performance.now() + timeoutMs);
  entry.deadlineAt = at;
  let index = size++;
  // Sift up: a new deadline is usually the latest, so this mostly stops at once.
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
  if (at < armedAt) arm(at);
  else if (size === 1) timer?.ref();
}

/** Forgets `entry`'s deadline (its call ended); nothing happens if it is not queued. */
export function cancelDeadline(entry: DeadlineEntry): void {
  const index = entry.deadlineSlot;
  if (index < 0) return;
  entry.deadlineSlot = -1;
  removeAt(index);
  if (size === 0) timer?.unref();
}

/** Deadlines queued now, for tests and leak checks. */
export function queuedDeadlines(): number {
  return size;
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
  timer = outsideAnyContext(setTimeout, fire, delay);
}

/** The timer fired: every deadline due now passes, in order; then re-arm for the next one. */
function fire(): void {
  timer = undefined;
  armedAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  while (size > 0) {
    const first = heap[0] as DeadlineEntry;
    if (first.deadlineAt > now) break;
    first.deadlineSlot = -1;
    removeAt(0);
    try {
      first.deadlinePassed();
    } catch (error) {
      // A callback that throws must not stop the others: report it as node would.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
  const next = heap[0];
  if (size > 0 && next !== undefined) arm(next.deadlineAt);
}
