"""Polyfill of CPython's ``heapq`` for the Monty sandbox.

Covers: ``heappush heappop heapify heapreplace heappushpop nlargest nsmallest merge``
(with ``key``/``reverse``), a port of CPython's pure-Python algorithms, so heaps have the
same layout as CPython's.

Differs from CPython: ``merge`` returns an iterator over an eagerly built list (Monty has
no generators), so it consumes its inputs up front; items are compared with ``<``, and
Monty does not dispatch ``<`` to user-defined ``__lt__``, so heap items should be numbers,
strings or tuples of them.
"""


def _siftdown(heap, startpos, pos):
    newitem = heap[pos]
    while pos > startpos:
        parentpos = (pos - 1) >> 1
        parent = heap[parentpos]
        if newitem < parent:
            heap[pos] = parent
            pos = parentpos
            continue
        break
    heap[pos] = newitem


def _siftup(heap, pos):
    endpos = len(heap)
    startpos = pos
    newitem = heap[pos]
    childpos = 2 * pos + 1
    while childpos < endpos:
        rightpos = childpos + 1
        if rightpos < endpos and not heap[childpos] < heap[rightpos]:
            childpos = rightpos
        heap[pos] = heap[childpos]
        pos = childpos
        childpos = 2 * pos + 1
    heap[pos] = newitem
    _siftdown(heap, startpos, pos)


def heappush(heap, item):
    heap.append(item)
    _siftdown(heap, 0, len(heap) - 1)


def heappop(heap):
    if not heap:
        raise IndexError("index out of range")
    lastelt = heap.pop()
    if heap:
        returnitem = heap[0]
        heap[0] = lastelt
        _siftup(heap, 0)
        return returnitem
    return lastelt


def heapreplace(heap, item):
    if not heap:
        raise IndexError("index out of range")
    returnitem = heap[0]
    heap[0] = item
    _siftup(heap, 0)
    return returnitem


def heappushpop(heap, item):
    if heap and heap[0] < item:
        item, heap[0] = heap[0], item
        _siftup(heap, 0)
    return item


def heapify(x):
    n = len(x)
    for i in range(n // 2 - 1, -1, -1):
        _siftup(x, i)


def nsmallest(n, iterable, key=None):
    if n <= 0:
        return []
    return sorted(iterable, key=key)[:n]


def nlargest(n, iterable, key=None):
    if n <= 0:
        return []
    return sorted(iterable, key=key, reverse=True)[:n]


def merge(*iterables, key=None, reverse=False):
    lists = [list(it) for it in iterables]
    pos = [0] * len(lists)
    keys = []
    for lst in lists:
        keys.append(lst if key is None else [key(v) for v in lst])
    out = []
    while True:
        best = -1
        best_key = None
        for i in range(len(lists)):
            if pos[i] < len(lists[i]):
                k = keys[i][pos[i]]
                if best < 0 or (best_key < k if reverse else k < best_key):
                    best = i
                    best_key = k
        if best < 0:
            break
        out.append(lists[best][pos[best]])
        pos[best] += 1
    return iter(out)
