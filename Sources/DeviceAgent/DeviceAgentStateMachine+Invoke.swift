import Runtime
import S2M3Core

extension DeviceAgentStateMachine {
    /// The module of an invoke topic of this device (`{root}/modules/{module}/{device}/invoke`), or nil.
    func invokeModule(topic: String) -> String? {
        if let module = invokeTopics[topic] { return module }
        guard let named = topics.invocation(fromInvokeTopic: topic), named.device == device else { return nil }
        return named.module
    }

    /// An invocation: answered at once (unreadable, repeated, busy, not loaded, past its deadline,
    /// missing an input), or admitted to the queue and run when a worker is free.
    mutating func receiveInvoke(
        topic: String, payload: [UInt8], properties: MessageProperties, module topicModule: String, nowMs: Double
    ) -> [DeviceAgentAction] {
        let bundle: TensorBundle
        let invoke: InvokeRequest
        do {
            bundle = try TensorBundle(decoding: payload)
        } catch {
            return unreadable(topic: topic, metadata: [:], properties: properties, module: topicModule, nowMs: nowMs,
                reason: "the invocation is not a tensor bundle (\(error)); send a safetensors bundle as topics.md describes")
        }
        do {
            invoke = try InvokeRequest(bundle: bundle, properties: properties)
        } catch {
            return unreadable(topic: topic, metadata: bundle.metadata, properties: properties, module: topicModule, nowMs: nowMs,
                reason: "the invocation's metadata is invalid: \(error)")
        }
        guard duplicates.firstTime(InvocationKey(requestID: invoke.requestID, node: invoke.node, attempt: invoke.attempt)) else {
            return [
                .count(.duplicate),
                .log(.debug, "repeated invocation ignored", ["request.id": "\(invoke.requestID)", "node": "\(invoke.node)", "attempt": "\(invoke.attempt)"]),
            ]
        }
        func refuse(_ status: PartialResult.Status, _ refusal: DeviceAgentAction.Refusal, _ reason: String) -> [DeviceAgentAction] {
            let partial = PartialResult(
                answering: invoke, device: device, status: status, error: reason, queueWaitMs: 0, computeMs: 0,
                receivedAtMs: Self.ms(nowMs), startedAtMs: nil, finishedAtMs: Self.ms(nowMs))
            return [.count(.refused(refusal)), answer(partial, to: invoke)]
        }
        guard !stopping else { return refuse(.busy, .busy, "the device is shutting down") }
        guard invoke.module == topicModule else {
            return refuse(.error, .badInvocation, "the invocation names module '\(invoke.module)' but came on the topic of '\(topicModule)'")
        }
        guard let module = loadedModule(answering: invoke.module), let expected = loaded[module] else {
            return refuse(.error, .notLoaded, "not-loaded: module '\(invoke.module)' is not loaded on device '\(device)' (loaded: \(loadedModules)); the plan may have changed, retry on another replica")
        }
        let receivedAtMs = Self.ms(nowMs)
        guard invoke.deadlineMs > receivedAtMs else {
            return refuse(.error, .deadlineExceeded, "deadline-exceeded: the deadline \(invoke.deadlineMs) passed \(receivedAtMs - invoke.deadlineMs) ms before the invocation arrived")
        }
        var inputs = bundle, values: [String: TensorBundle] = [:]
        if !invoke.chain.isEmpty {
            guard let taken = Self.chainValues(taking: &inputs) else {
                return refuse(.error, .badInvocation, "a tensor named '\(InvokeRequest.chainValuePrefix)…' is not \(InvokeRequest.chainValuePrefix){value}\(InvokeRequest.chainValuePrefix){tensor}")
            }
            values = taken
        }
        if let missing = expected.first(where: { inputs[$0] == nil }) {
            return refuse(.error, .badInvocation, "missing input '\(missing)': module '\(invoke.module)' takes \(expected) (present: \(inputs.names))")
        }
        nextTicket += 1
        let ticket = nextTicket
        let job = Job(invoke: invoke, answering: invoke, values: values, inputs: inputs, module: module, receivedAtMs: nowMs)
        switch queue.admit(ticket) {
        case .busy:
            return refuse(.busy, .busy, "queue full (\(queue.capacity) waiting or running)")
        case .wait:
            waiting[ticket] = job
            // A gathering batch that is full starts without waiting out its time.
            guard let held = gathering, held.job.module == module, let names = loaded[module],
                waiting.values.filter({ $0.module == module && $0.invoke.chain.isEmpty && InvocationBatch.fits($0.inputs, with: held.job.inputs, names: names) }).count
                    >= configuration.maxBatch - 1
            else { return [] }
            gathering = nil
            return start(held.ticket, held.job, nowMs: nowMs)
        case .start:
            if configuration.batchWaitMs > 0, configuration.maxBatch > 1, gathering == nil, batchable.contains(module), invoke.chain.isEmpty {
                let untilMs = nowMs + configuration.batchWaitMs
                gathering = (ticket, job, untilMs)
                return [.wake(atMs: untilMs)]
            }
            return start(ticket, job, nowMs: nowMs)
        }
    }

    /// Time passed: a gathering batch whose wait is over starts; runs past their deadline are
    /// cancelled (each answers when it has stopped), a batch once the last of its invocations'
    /// deadlines has passed.
    public mutating func tick(nowMs: Double) -> [DeviceAgentAction] {
        var actions: [DeviceAgentAction] = []
        if let held = gathering, held.untilMs <= nowMs {
            gathering = nil
            actions += start(held.ticket, held.job, nowMs: nowMs)
        }
        for (ticket, job) in running.sorted(by: { $0.key < $1.key }) where !job.cancelled && Double(deadline(of: ticket, job)) <= nowMs {
            running[ticket]?.cancelled = true
            actions.append(.cancel(ticket: ticket))
        }
        return actions
    }

    /// When the machine must next hear the time (``tick(nowMs:)``), Unix ms: the earliest deadline
    /// of a run not yet cancelled, or the end of a gathering batch's wait; nil when nothing waits.
    public var nextDueMs: Double? {
        let deadlines = running.lazy.filter { !$0.value.cancelled }.map { Double(self.deadline(of: $0.key, $0.value)) }
        return [deadlines.min(), gathering?.untilMs].compactMap { $0 }.min()
    }

    /// The deadline of a run: its invocation's, or the latest of its batch's.
    private func deadline(of ticket: UInt64, _ job: Job) -> Int {
        (batches[ticket]?.riders ?? []).reduce(job.invoke.deadlineMs) { max($0, $1.job.invoke.deadlineMs) }
    }

    /// A run ended (finished, failed, or stopped after a cancel): answers it (each invocation of a
    /// batch with its own rows of the outputs) and starts the next waiting invocation. `computeMs`
    /// is the run's time as the service measured it.
    public mutating func runFinished(_ ticket: UInt64, _ outcome: DeviceAgentRunOutcome, computeMs: Double, nowMs: Double) -> [DeviceAgentAction] {
        guard let job = running.removeValue(forKey: ticket) else { return [] }
        let batch = batches.removeValue(forKey: ticket)
        if batch == nil, job.nextStep < job.invoke.chain.count, !job.cancelled, case .finished(.success(let outputs)) = outcome {
            return continueChain(ticket, job, outputs: outputs, computeMs: computeMs, nowMs: nowMs)
        }
        let members = [(ticket: ticket, job: job)] + (batch?.riders ?? [])
        if members.count > 1 { queue.release(riders: members.count - 1) }
        // Each member's outputs, or the failure they all share.
        var results: Result<[TensorBundle], ModuleError>
        switch outcome {
        case .finished(.success(let values)):
            if let batch {
                do throws(InvocationBatchError) {
                    results = .success(try batch.batch.split(values))
                } catch {
                    results = .failure(ModuleError(.runFailed, module: job.module, "internal: the batched run's outputs could not be split per invocation: \(error)"))
                }
            } else {
                results = .success([values])
            }
            // Per invocation: a batch of n took `computeMs` for all n, and the telemetry's figure
            // is what one invocation costs the device (planner load, aggregators' queue estimates).
            if case .success = results {
                for _ in members { timings.record(job.answering.module, ms: computeMs / Double(members.count)) }
            }
        case .finished(.failure(let error)):
            results = .failure(error)
        case .stopped:
            results = .success([])
        }
        var actions: [DeviceAgentAction] = []
        var answers: [DeviceAgentAction] = []
        for (index, member) in members.enumerated() {
            var status = PartialResult.Status.ok
            var failure: String?
            var outputs = TensorBundle()
            let late = Double(member.job.invoke.deadlineMs) <= nowMs && members.count > 1
            switch (outcome, results, job.cancelled || late) {
            case (.finished, .success(let values), false) where index < values.count:
                if member.job.answering.returnsOutputs { outputs = values[index] }
            case (.finished, .failure(let error), false):
                status = .error
                // topics.md: an input that cannot be used is `bad-input: …` (not retried elsewhere).
                let blamesInput: Set<ModuleError.Code> = [.badInput, .wrongInput, .missingInput]
                failure = blamesInput.contains(error.code) ? "bad-input: \(error)" : "\(error.code.rawValue): \(error)"
            default:
                status = .error
                failure = "deadline-exceeded: the deadline \(member.job.invoke.deadlineMs) passed \(max(0, Self.ms(nowMs) - member.job.invoke.deadlineMs)) ms ago while module '\(member.job.invoke.module)' ran; the run was stopped"
            }
            let startedAtMs = Self.ms(member.job.startedAtMs)
            let partial = PartialResult(
                answering: member.job.answering, device: device, status: status, error: failure, queueWaitMs: Self.queueWait(member.job),
                computeMs: computeMs, receivedAtMs: Self.ms(member.job.receivedAtMs), startedAtMs: startedAtMs,
                finishedAtMs: max(Self.ms(nowMs), startedAtMs))
            actions.append(.count(.invoked(module: member.job.answering.module, ok: status == .ok, computeMs: computeMs)))
            answers.append(answer(partial, outputs: outputs, to: member.job.invoke))
        }
        return actions + next(nowMs: nowMs) + answers
    }

    /// A worker is free: the next waiting invocation starts.
    mutating func next(nowMs: Double) -> [DeviceAgentAction] {
        guard let ticket = queue.finish(), let job = waiting.removeValue(forKey: ticket) else { return [] }
        return start(ticket, job, nowMs: nowMs)
    }

    /// Starts an admitted invocation, or answers `deadline-exceeded` when its deadline passed while
    /// it waited (and starts the next one).
    private mutating func start(_ ticket: UInt64, _ job: Job, nowMs: Double) -> [DeviceAgentAction] {
        var job = job
        job.startedAtMs = max(nowMs, job.receivedAtMs)
        let startedAtMs = Self.ms(job.startedAtMs)
        if job.invoke.deadlineMs > startedAtMs {
            running[ticket] = job
            let inputs = batch(ledBy: ticket, job, nowMs: nowMs)
            return [.run(.init(ticket: ticket, module: job.module, inputs: inputs, deadlineMs: deadline(of: ticket, job)))]
        }
        let queueWaitMs = Self.queueWait(job)
        let partial = PartialResult(
            answering: job.invoke, device: device, status: .error,
            error: "deadline-exceeded: the deadline \(job.invoke.deadlineMs) passed while the invocation waited \(Int(queueWaitMs)) ms in the queue",
            queueWaitMs: queueWaitMs, computeMs: 0, receivedAtMs: Self.ms(job.receivedAtMs), startedAtMs: startedAtMs,
            finishedAtMs: startedAtMs)
        return [.count(.invoked(module: job.invoke.module, ok: false, computeMs: 0))] + next(nowMs: nowMs) + [answer(partial, to: job.invoke)]
    }

    /// The inputs of a starting run: its own, or joined with those of waiting invocations of the
    /// same batchable module and shapes (up to ``DeviceAgentConfiguration/maxBatch`` in all, still
    /// within their deadlines), which then ride with it (``batches``).
    private mutating func batch(ledBy ticket: UInt64, _ job: Job, nowMs: Double) -> TensorBundle {
        guard configuration.maxBatch > 1, batchable.contains(job.module), job.invoke.chain.isEmpty, let names = loaded[job.module],
            InvocationBatch.size(of: job.inputs, names: names) != nil
        else { return job.inputs }
        let startedAtMs = Self.ms(job.startedAtMs)
        let waiting = self.waiting
        let taken = queue.take(upTo: configuration.maxBatch - 1) { candidate in
            guard let other = waiting[candidate] else { return false }
            return other.module == job.module && other.invoke.chain.isEmpty && other.invoke.deadlineMs > startedAtMs
                && InvocationBatch.fits(other.inputs, with: job.inputs, names: names)
        }
        guard !taken.isEmpty else { return job.inputs }
        var riders: [(ticket: UInt64, job: Job)] = []
        for rider in taken {
            guard var other = self.waiting.removeValue(forKey: rider) else { continue }
            other.startedAtMs = max(job.startedAtMs, other.receivedAtMs)
            riders.append((rider, other))
        }
        guard let (inputs, batch) = InvocationBatch.join([job.inputs] + riders.map(\.job.inputs), names: names) else {
            // Cannot happen (each rider fits); run them one after another instead of failing them.
            queue.release(riders: riders.count)
            for rider in riders.reversed() { self.waiting[rider.ticket] = rider.job }
            queue.putBack(riders.map(\.ticket))
            return job.inputs
        }
        batches[ticket] = (riders, batch)
        return inputs
    }

    static func queueWait(_ job: Job) -> Double { max(0, job.startedAtMs - job.receivedAtMs) }

    func answer(_ partial: PartialResult, outputs: TensorBundle = TensorBundle(), to invoke: InvokeRequest) -> DeviceAgentAction {
        .publish(.answer(.init(
            partial: partial, outputs: outputs, topic: topics.aggregatorPartials(invoke.replyTo, device: device),
            traceparent: invoke.traceparent)))
    }

    private func unreadable(
        topic: String, metadata: [String: String], properties: MessageProperties, module: String, nowMs: Double, reason: String
    ) -> [DeviceAgentAction] {
        guard
            let reply = InvokeFailureReply(
                metadata: metadata, properties: properties, topicModule: module, device: device, topics: topics,
                reason: reason, receivedAtMs: Self.ms(nowMs), finishedAtMs: Self.ms(nowMs))
        else {
            return [
                .count(.refused(.badInvocation)),
                .log(.warning, "bad invocation without a request id or reply topic; not answered", ["mqtt.topic": "\(topic)", "reason": "\(reason)"]),
            ]
        }
        return [
            .count(.refused(.badInvocation)),
            .log(.warning, "bad invocation answered with an error", ["mqtt.topic": "\(topic)", "reason": "\(reason)"]),
            .publish(.answer(.init(partial: reply.partial, outputs: TensorBundle(), topic: reply.topic, traceparent: nil))),
        ]
    }

    /// The catalog ids that are the same module as `id` (equal digests), `id` first.
    func aliases(of id: String) -> [String] {
        [id] + catalogIDs.filter { $0 != id && sharedID[$0] != nil && sharedID[$0] == sharedID[id] }
    }

    /// The loaded module answering invocations addressed to `id` (itself or an alias).
    func loadedModule(answering id: String) -> String? {
        aliases(of: id).first { loaded[$0] != nil }
    }
}
