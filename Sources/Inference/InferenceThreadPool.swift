#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A few dedicated threads that run blocking work (ONNX Runtime sessions, heavy pre-processing) off
/// Swift's cooperative thread pool. Callers `await` ``execute(_:)``; the job runs on a pool thread
/// and resumes the caller's continuation with its result.
///
/// Jobs run in submission order, up to ``threadCount`` at a time. When the pool is released, its
/// threads finish the jobs already queued and then exit.
public final class InferenceThreadPool: Sendable {
    public let threadCount: Int
    private let queue: JobQueue

    /// The pool's name, reported by ``currentPoolName`` on its threads.
    public let name: String

    /// Starts `threadCount` threads (at least one).
    public init(threadCount: Int = 1, name: String = "s2m3-inference") {
        self.threadCount = max(1, threadCount)
        self.name = name
        self.queue = JobQueue()
        for _ in 0..<self.threadCount { queue.startThread(name: name) }
    }

    /// The name of the pool whose thread is running the caller, or `nil` on any other thread (for
    /// example Swift's cooperative pool). Lets code and tests check where blocking work runs.
    public static var currentPoolName: String? {
        guard let raw = pthread_getspecific(ThreadStart.key) else { return nil }
        return Unmanaged<ThreadStart>.fromOpaque(raw).takeUnretainedValue().name
    }

    deinit { queue.shutDown() }

    /// Runs `body` on a pool thread and returns its result to the awaiting caller.
    public func execute<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.enqueue { continuation.resume(returning: body()) }
        }
    }
}

/// The pool's queue: a FIFO of jobs guarded by a pthread mutex, with a condition variable the
/// threads wait on.
///
/// `@unchecked Sendable`: `jobs` and `isShutDown` are read and written only while `mutex` is held;
/// the mutex and condition live at stable heap addresses for the object's whole life, and the object
/// lives until the last thread (each holds a strong reference) has exited.
private final class JobQueue: @unchecked Sendable {
    typealias Job = @Sendable () -> Void
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [Job] = []
    private var head = 0
    private var isShutDown = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func enqueue(_ job: @escaping Job) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    func shutDown() {
        pthread_mutex_lock(mutex)
        isShutDown = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Next job, or `nil` once shut down and drained.
    private func next() -> Job? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == jobs.count && !isShutDown {
            pthread_cond_wait(condition, mutex)
        }
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count || head > 64 && head * 2 > jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }

    func startThread(name: String) {
        let context = Unmanaged.passRetained(ThreadStart(queue: self, name: name)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
            pthread_setspecific(ThreadStart.key, Unmanaged.passUnretained(start).toOpaque())
            while let job = start.queue.next() { job() }
            return nil
        }, context)
        precondition(result == 0, "pthread_create failed with \(result)")
        pthread_detach(thread)
    }
}

/// What a new pool thread needs: its queue and its name. Each pool thread keeps its own instance
/// alive for its whole life and publishes it in the thread-specific slot ``key``.
private final class ThreadStart {
    /// Thread-specific slot marking pool threads; created once per process, never deleted.
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    let queue: JobQueue
    let name: String
    init(queue: JobQueue, name: String) {
        self.queue = queue
        self.name = name
    }
}
