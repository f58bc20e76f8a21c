import Testing

@testable import MQTTBus

@Suite("Async buffer")
struct AsyncBufferTests {
    @Test func deliversInOrderThenEndsAfterFinish() async {
        let buffer = AsyncBuffer<Int>()
        for i in 0..<5000 { buffer.push(i) }
        buffer.finish()
        buffer.push(-1)  // ignored after finish
        var received: [Int] = []
        while let value = await buffer.next() { received.append(value) }
        #expect(received == Array(0..<5000))
    }

    /// Cancelling one consumer ends only its wait; the next consumer still receives.
    @Test func cancelledConsumerDoesNotEndTheBuffer() async throws {
        let buffer = AsyncBuffer<Int>()
        let first = Task { await buffer.next() }
        while buffer.waitingCount == 0 { await Task.yield() }
        first.cancel()
        #expect(await first.value == nil)

        #expect(buffer.waitingCount == 0)
        let second = Task { await buffer.next() }
        buffer.push(42)
        #expect(await second.value == 42)
    }

    @Test func limitDropsOldest() async {
        let buffer = AsyncBuffer<Int>(limit: 3)
        for i in 0..<5 { buffer.push(i) }
        #expect(buffer.droppedCount == 2)
        #expect(await buffer.next() == 2)
    }

    @Test func eachElementGoesToExactlyOneConsumer() async {
        let buffer = AsyncBuffer<Int>()
        let consumers = (0..<4).map { _ in
            Task {
                var mine: [Int] = []
                while let value = await buffer.next() { mine.append(value) }
                return mine
            }
        }
        for i in 0..<10_000 { buffer.push(i) }
        buffer.finish()
        var all: [Int] = []
        for consumer in consumers { all += await consumer.value }
        #expect(all.sorted() == Array(0..<10_000))
    }
}
