import Logging
import Runtime
import S2M3Core

/// What ``DeviceAgentStateMachine`` asks its service to do, in order.
public enum DeviceAgentAction: Sendable {
    /// A message on the device's own topics or an answer to an invocation.
    case publish(Publication)
    /// Publish the telemetry of now (``DeviceAgentStateMachine/telemetry(nowMs:residentMemoryBytes:)``;
    /// the service reads the resident memory).
    case publishTelemetry
    /// Subscribe to a topic of the device's (state, assignment, plan, a module's invoke topic).
    case subscribe(String)
    case unsubscribe(String)
    /// Load a catalog module (with the memory counted for it); report with
    /// ``DeviceAgentStateMachine/loadFinished(_:callInputs:)``.
    case load(HostingState.Hosted)
    /// Drop a loaded module (its invoke topics were unsubscribed before).
    case unload(String)
    /// Run an admitted invocation; report with ``DeviceAgentStateMachine/runFinished(_:_:computeMs:nowMs:)``,
    /// and feed ``DeviceAgentStateMachine/tick(nowMs:)`` when its deadline passes.
    case run(Run)
    /// Stop a run (its deadline passed); it still reports when it has stopped.
    case cancel(ticket: UInt64)
    /// Feed ``DeviceAgentStateMachine/tick(nowMs:)`` at this time (Unix ms): a batch gathering
    /// invocations is due to start.
    case wake(atMs: Double)
    /// For the metrics.
    case count(Count)
    case log(Logger.Level, String, Logger.Metadata)

    public enum Publication: Sendable {
        case state(DeviceState)
        case capabilities(DeviceCapabilities)
        /// A partial on `aggregators/{aggregator}/partials/{device}` (or, for an unreadable
        /// invocation, its MQTT 5 response topic).
        case answer(Answer)
    }

    public struct Answer: Sendable {
        public init(partial: PartialResult, outputs: TensorBundle, topic: String, traceparent: String?) {
            self.partial = partial
            self.outputs = outputs
            self.topic = topic
            self.traceparent = traceparent
        }

        public var partial: PartialResult
        public var outputs: TensorBundle
        public var topic: String
        public var traceparent: String?
    }

    public struct Run: Sendable {
        public var ticket: UInt64
        /// The loaded module that runs it (the invoked id or an alias of it with the same digest).
        public var module: String
        public var inputs: TensorBundle
        /// Unix ms.
        public var deadlineMs: Int
    }

    public enum Count: Sendable, Hashable {
        case refused(Refusal)
        case duplicate
        /// An invocation of a loaded module answered `ok` or `error` after `computeMs` of compute.
        case invoked(module: String, ok: Bool, computeMs: Double)
        /// After an assignment was handled: the memory counted for what is loaded, and its epoch if applied.
        case hosting(usedBytes: Int, appliedEpoch: Int?)
    }

    /// Why an invocation was answered without being run.
    public enum Refusal: String, Sendable, Hashable {
        /// The queue was full, or the device is shutting down.
        case busy
        /// The module is not loaded here (the plan changed, or it is still loading).
        case notLoaded = "not-loaded"
        /// Its deadline had passed when it arrived.
        case deadlineExceeded = "deadline-exceeded"
        /// Unreadable, on another module's topic, or missing an input.
        case badInvocation = "bad-invocation"
    }
}

/// How a run ended.
public enum DeviceAgentRunOutcome: Sendable {
    case finished(Result<TensorBundle, ModuleError>)
    /// Stopped after a ``DeviceAgentAction/cancel(ticket:)``.
    case stopped
}
