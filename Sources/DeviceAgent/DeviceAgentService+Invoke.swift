import Foundation
import Logging
import MQTTBus
import Runtime
import S2M3Bus
import S2M3Core

/// A repeated (request id, node, attempt) is the same invocation (QoS 1 may deliver twice).
struct InvocationKey: Hashable, Sendable {
    var requestID: String
    var node: String
    var attempt: Int
}

/// An admitted invocation, waiting or running.
struct InvocationJob: Sendable {
    var invoke: InvokeRequest
    var inputs: TensorBundle
    var module: any LoadedModule
    var receivedAtMs: Int
    var receivedAt: ContinuousClock.Instant
}

extension DeviceAgentService {
    /// The module of an invoke topic of this device (`{root}/modules/{module}/{device}/invoke`), or nil.
    func invokeModule(topic: String) -> String? {
        if let module = invokeTopics[topic] { return module }
        guard let named = topics.invocation(fromInvokeTopic: topic), named.device == device else { return nil }
        return named.module
    }

    func receiveInvoke(_ message: MQTTMessage, module topicModule: String) async {
        let receivedAtMs = Self.nowMs(), receivedAt = ContinuousClock.now
        let properties = MessageProperties(message.properties)
        let bundle: TensorBundle
        let invoke: InvokeRequest
        do {
            bundle = try TensorBundle(decoding: message.payload)
        } catch {
            await replyUnreadable(message, metadata: [:], module: topicModule, receivedAtMs: receivedAtMs,
                reason: "the invocation is not a tensor bundle (\(error)); send a safetensors bundle as topics.md describes")
            return
        }
        do {
            invoke = try InvokeRequest(bundle: bundle, properties: properties)
        } catch {
            await replyUnreadable(message, metadata: bundle.metadata, module: topicModule, receivedAtMs: receivedAtMs,
                reason: "the invocation's metadata is invalid: \(error)")
            return
        }
        guard duplicates.firstTime(InvocationKey(requestID: invoke.requestID, node: invoke.node, attempt: invoke.attempt)) else {
            metrics.droppedDuplicate()
            logger.debug("repeated invocation ignored", metadata: ["request.id": "\(invoke.requestID)", "node": "\(invoke.node)", "attempt": "\(invoke.attempt)"])
            return
        }
        guard !stopping else {
            metrics.refused(.busy)
            let partial = PartialResult(
                answering: invoke, device: device, status: .busy, error: "the device is shutting down", queueWaitMs: 0, computeMs: 0,
                receivedAtMs: receivedAtMs, startedAtMs: nil, finishedAtMs: max(Self.nowMs(), receivedAtMs))
            await publish(partial, outputs: TensorBundle(), to: topics.aggregatorPartials(invoke.replyTo, device: device), traceparent: invoke.traceparent)
            return
        }
        func refuse(_ status: PartialResult.Status, _ refusal: DeviceMetrics.Refusal, _ reason: String?) async {
            metrics.refused(refusal)
            let partial = PartialResult(
                answering: invoke, device: device, status: status, error: reason, queueWaitMs: 0, computeMs: 0,
                receivedAtMs: receivedAtMs, startedAtMs: nil, finishedAtMs: max(Self.nowMs(), receivedAtMs))
            await publish(partial, outputs: TensorBundle(), to: topics.aggregatorPartials(invoke.replyTo, device: device), traceparent: invoke.traceparent)
        }
        guard invoke.module == topicModule else {
            await refuse(.error, .badInvocation, "the invocation names module '\(invoke.module)' but came on the topic of '\(topicModule)'")
            return
        }
        guard let loaded = loadedModule(answering: invoke.module) else {
            await refuse(.error, .notLoaded, "not-loaded: module '\(invoke.module)' is not loaded on device '\(device)' (loaded: \(loadedModules)); the plan may have changed, retry on another replica")
            return
        }
        guard invoke.deadlineMs > receivedAtMs else {
            await refuse(.error, .deadlineExceeded, "deadline-exceeded: the deadline \(invoke.deadlineMs) passed \(receivedAtMs - invoke.deadlineMs) ms before the invocation arrived")
            return
        }
        let expected = loaded.manifest.callInputs.map(\.name)
        if let missing = expected.first(where: { bundle[$0] == nil }) {
            await refuse(.error, .badInvocation, "missing input '\(missing)': module '\(invoke.module)' takes \(expected) (present: \(bundle.names))")
            return
        }
        nextTicket += 1
        let ticket = nextTicket
        let job = InvocationJob(invoke: invoke, inputs: bundle, module: loaded, receivedAtMs: receivedAtMs, receivedAt: receivedAt)
        switch queue.admit(ticket) {
        case .busy:
            await refuse(.busy, .busy, "queue full (\(queue.capacity) waiting or running)")
        case .wait:
            waitingJobs[ticket] = job
        case .start:
            startable.yield(job)
        }
    }

    /// Computes one admitted invocation, answers it, and starts the next waiting one.
    func execute(_ job: InvocationJob) async {
        let startedAt = ContinuousClock.now
        let startedAtMs = max(Self.nowMs(), job.receivedAtMs)
        let queueWaitMs = Self.milliseconds(startedAt - job.receivedAt)
        var status = PartialResult.Status.ok
        var failure: String?
        var outputs = TensorBundle()
        var computeMs = 0.0
        if job.invoke.deadlineMs <= startedAtMs {
            status = .error
            failure = "deadline-exceeded: the deadline \(job.invoke.deadlineMs) passed while the invocation waited \(Int(queueWaitMs)) ms in the queue"
        } else {
            // The run is stopped when the deadline passes (DeadlineRun): nobody waits for it then.
            let module = job.module, inputs = job.inputs
            let deadline = startedAt + .milliseconds(job.invoke.deadlineMs - startedAtMs)
            let run = { @Sendable () async -> Result<TensorBundle, ModuleError> in
                do throws(ModuleError) { return .success(try await module.run(inputs)) } catch { return .failure(error) }
            }
            switch await DeadlineRun.run(until: deadline, run) {
            case .finished(.success(let values)):
                outputs = values
            case .finished(.failure(let error)):
                status = .error
                // topics.md: an input that cannot be used is `bad-input: …` (not retried elsewhere).
                let blamesInput: Set<ModuleError.Code> = [.badInput, .wrongInput, .missingInput]
                failure = blamesInput.contains(error.code) ? "bad-input: \(error)" : "\(error.code.rawValue): \(error)"
            case .deadlinePassed:
                status = .error
                failure = "deadline-exceeded: the deadline \(job.invoke.deadlineMs) passed \(Int(Self.milliseconds(ContinuousClock.now - deadline))) ms ago while module '\(job.invoke.module)' ran; the run was stopped"
            }
            computeMs = Self.milliseconds(ContinuousClock.now - startedAt)
            if status == .ok { timings.record(module: job.invoke.module, computeMs: computeMs) }
        }
        metrics.invoked(module: job.invoke.module, ok: status == .ok, computeMs: computeMs)
        let finishedAtMs = max(Self.nowMs(), startedAtMs)
        if let next = queue.finish(), let nextJob = waitingJobs.removeValue(forKey: next) {
            startable.yield(nextJob)
        }
        let partial = PartialResult(
            answering: job.invoke, device: device, status: status, error: failure, queueWaitMs: queueWaitMs,
            computeMs: computeMs, receivedAtMs: job.receivedAtMs, startedAtMs: startedAtMs, finishedAtMs: finishedAtMs)
        await publish(partial, outputs: outputs, to: topics.aggregatorPartials(job.invoke.replyTo, device: device), traceparent: job.invoke.traceparent)
    }

    private func replyUnreadable(_ message: MQTTMessage, metadata: [String: String], module: String, receivedAtMs: Int, reason: String) async {
        metrics.refused(.badInvocation)
        guard
            let reply = InvokeFailureReply(
                metadata: metadata, properties: MessageProperties(message.properties), topicModule: module, device: device, topics: topics,
                reason: reason, receivedAtMs: receivedAtMs, finishedAtMs: Self.nowMs())
        else {
            logger.warning("bad invocation without a request id or reply topic; not answered", metadata: ["mqtt.topic": "\(message.topic)", "reason": "\(reason)"])
            return
        }
        logger.warning("bad invocation answered with an error", metadata: ["mqtt.topic": "\(message.topic)", "reason": "\(reason)"])
        await publish(reply.partial, outputs: TensorBundle(), to: reply.topic, traceparent: nil)
    }

    func publish(_ partial: PartialResult, outputs: TensorBundle, to topic: String, traceparent: String?) async {
        var partial = partial
        let bundle: TensorBundle
        do {
            bundle = try partial.bundle(outputs: outputs)
        } catch {
            // A result that does not validate (should not happen): answer an error instead.
            partial.status = .error
            partial.error = "internal: the device could not encode its answer: \(error)"
            guard let fallback = try? partial.bundle() else {
                logger.error("cannot encode an answer", metadata: ["request.id": "\(partial.requestID)", "error": "\(error)"])
                return
            }
            bundle = fallback
        }
        let message = MQTTMessage(
            topic: topic, payload: bundle.encoded(), qos: .atLeastOnce,
            properties: MQTTProperties(partial.properties(traceparent: traceparent)))
        guard !closing else {
            logger.info("not answered: the device is disconnecting", metadata: ["request.id": "\(partial.requestID)"])
            return
        }
        answersInFlight += 1
        defer { answersInFlight -= 1 }
        do {
            try await connection.publish(message)
        } catch let error as MQTTError where partial.status == .ok && error.code != .closed {
            // The outputs could not travel (e.g. over the broker's packet limit): say so, so the
            // aggregator does not wait for the deadline.
            logger.warning("answer not published; answering an error", metadata: ["request.id": "\(partial.requestID)", "node": "\(partial.node)", "error": "\(error)"])
            partial.status = .error
            partial.error = "the outputs (\(message.payload.count) bytes) could not be published: \(error.message)"
            await publish(partial, outputs: TensorBundle(), to: topic, traceparent: traceparent)
        } catch {
            logger.warning("answer not published", metadata: ["request.id": "\(partial.requestID)", "node": "\(partial.node)", "error": "\(error)"])
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return max(0, Double(parts.seconds) * 1000 + Double(parts.attoseconds) * 1e-15)
    }
}
