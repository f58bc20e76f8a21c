/// Remembers the last `capacity` keys seen, so a message delivered twice (QoS 1) is handled once.
public struct DuplicateFilter<Key: Hashable & Sendable>: Sendable {
    public let capacity: Int
    private var seen: Set<Key> = []
    private var order: [Key] = []
    private var head = 0

    public init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    /// True the first time `key` is offered (within the memory window), false for a repeat.
    public mutating func firstTime(_ key: Key) -> Bool {
        guard seen.insert(key).inserted else { return false }
        order.append(key)
        if order.count - head > capacity {
            seen.remove(order[head])
            head += 1
            if head > capacity {
                order.removeFirst(head)
                head = 0
            }
        }
        return true
    }
}
