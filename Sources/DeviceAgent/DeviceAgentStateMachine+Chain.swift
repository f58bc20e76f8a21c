import Catalog
import Runtime
import S2M3Core

extension DeviceAgentStateMachine {
    /// Takes a chained invocation's `~{value}~{tensor}` tensors out of `inputs`: the values its
    /// steps read besides the chain's own outputs. Nil when a name is not of that form.
    static func chainValues(taking inputs: inout TensorBundle) -> [String: TensorBundle]? {
        var values: [String: TensorBundle] = [:]
        let prefix = InvokeRequest.chainValuePrefix
        for name in inputs.names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let split = rest.firstIndex(of: Character(prefix)), let tensor = inputs[name] else { return nil }
            let value = String(rest[..<split]), tensorName = String(rest[rest.index(after: split)...])
            guard !value.isEmpty, (try? values[value, default: TensorBundle()].set(tensor, named: tensorName)) != nil else { return nil }
            values[value]?.metadata[TensorBundle.contentTypeKeyPrefix + tensorName] = inputs.contentType(of: name)
            inputs.removeTensor(named: name)
        }
        return values
    }

    /// A chained invocation's step finished: it is answered (with outputs when the aggregator asked
    /// for them) and the next step starts in the same queue place, on the outputs of the earlier
    /// ones. A step that cannot start (deadline passed, module no longer loaded, arguments missing)
    /// is answered `error` and ends the chain; the aggregator re-runs what it still needs.
    mutating func continueChain(_ ticket: UInt64, _ job: Job, outputs: TensorBundle, computeMs: Double, nowMs: Double) -> [DeviceAgentAction] {
        var job = job
        let finished = job.answering
        timings.record(finished.module, ms: computeMs)
        let startedAtMs = Self.ms(job.startedAtMs)
        let done = PartialResult(
            answering: finished, device: device, status: .ok, error: nil, queueWaitMs: Self.queueWait(job), computeMs: computeMs,
            receivedAtMs: Self.ms(job.receivedAtMs), startedAtMs: startedAtMs, finishedAtMs: max(Self.ms(nowMs), startedAtMs))
        let answered: [DeviceAgentAction] = [
            .count(.invoked(module: finished.module, ok: true, computeMs: computeMs)),
            answer(done, outputs: finished.returnsOutputs ? outputs : TensorBundle(), to: job.invoke),
        ]
        job.values[finished.node] = outputs
        let stepIndex = job.nextStep
        let step = job.invoke.step(stepIndex)
        job.nextStep += 1
        func stop(_ reason: String) -> [DeviceAgentAction] {
            let failed = PartialResult(
                answering: step, device: device, status: .error, error: reason, queueWaitMs: 0, computeMs: 0,
                receivedAtMs: Self.ms(nowMs), startedAtMs: nil, finishedAtMs: Self.ms(nowMs))
            return answered + next(nowMs: nowMs) + [answer(failed, to: job.invoke)]
        }
        guard job.invoke.deadlineMs > Self.ms(nowMs) else {
            return stop("deadline-exceeded: the deadline \(job.invoke.deadlineMs) passed before chained node '\(step.node)' could start")
        }
        guard let module = loadedModule(answering: step.module), let names = loaded[module] else {
            return stop("not-loaded: module '\(step.module)' of chained node '\(step.node)' is not loaded on device '\(device)' (loaded: \(loadedModules))")
        }
        let arguments: TensorBundle
        do throws(TaskBindingError) {
            arguments = try TaskBinding.arguments(
                node: step.node, module: step.module, sources: job.invoke.chain[stepIndex].arguments.map { ($0.value, $0.tensor) },
                parameters: names, values: job.values)
        } catch {
            return stop("the arguments of chained node '\(step.node)' cannot be built: \(error.message)")
        }
        job.answering = step
        job.inputs = arguments
        job.module = module
        job.receivedAtMs = nowMs
        job.startedAtMs = nowMs
        running[ticket] = job
        // The next run starts before the finished step's answer is published.
        return [.run(.init(ticket: ticket, module: module, inputs: arguments, deadlineMs: job.invoke.deadlineMs))] + answered
    }
}
