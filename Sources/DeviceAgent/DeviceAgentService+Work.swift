import Catalog
import Inference
import Logging
import MQTTBus
import Runtime
import S2M3Bus
import S2M3Core

extension DeviceAgentService {
    /// A load or a run, done in a child task of ``run()``.
    enum Work: Sendable {
        case load(HostingState.Hosted)
        /// The run, its module, and the stream that ends when the machine cancels it.
        case run(DeviceAgentAction.Run, any LoadedModule, AsyncStream<Void>)
        /// Sleep until then (Unix ms), then tick.
        case wake(Double)
        /// The broker acknowledged a sent answer (nil) or it failed.
        case answered(DeviceAgentAction.Answer, MQTTError?)
    }

    func execute(_ work: Work) async {
        switch work {
        case .load(let module): await load(module)
        case .run(let run, let module, let cancelled): await execute(run, module: module, cancelled: cancelled)
        case .wake(let atMs): await watchDeadline(Int(atMs.rounded(.up)))
        case .answered(let answer, let error): acknowledged(answer, error)
        }
    }

    private func load(_ module: HostingState.Hosted) async {
        let before = try? ResidentMemory.currentBytes()
        let loaded: any LoadedModule
        do {
            loaded = try await loader.load(module.module)
        } catch {
            await perform(machine.loadFinished(module.module, callInputs: .failure(.init("\(error)"))))
            return
        }
        // One run on a dummy input before the module is announced, so the first real request is
        // as fast as the rest; a module that cannot run it is refused like one that cannot load.
        if configuration.warmUp {
            do {
                try await loaded.warmUp()
            } catch {
                await perform(machine.loadFinished(module.module, callInputs: .failure(.init("warming up module '\(module.module)' failed: \(error)"))))
                return
            }
        }
        modules[module.module] = loaded
        let grown = (try? ResidentMemory.currentBytes()).flatMap { after in before.map { after - $0 } } ?? 0
        let metadata: Logger.Metadata = ["module.id": "\(module.module)", "memory.counted": "\(module.memoryBytes)", "memory.resident-growth": "\(grown)"]
        logger.info("module loaded", metadata: metadata)
        if module.memoryBytes > 0, grown > module.memoryBytes * 3 / 2 {
            logger.warning(
                "loading grew resident memory by more than 1.5 × the memory counted for the module; the planner's figure may be low",
                metadata: metadata)
        }
        await perform(machine.loadFinished(
            module.module, callInputs: .success(loaded.manifest.callInputs.map(\.name)), batchable: loaded.manifest.isBatchable))
    }

    /// Runs an admitted invocation until it finishes or the machine cancels it (its deadline
    /// passed; the service's shared wake, `scheduleWake(_:)`, tells the machine the time). At a
    /// cancel the run's task is cancelled: ONNX Runtime stops at its next operator boundary (the
    /// terminate flag of `InferenceSession.run`), and a multi-step driver (Whisper's greedy
    /// decoder, OCR's per-line recogniser) skips its remaining runs. The machine hears of
    /// the end only once the work has stopped, so the queue slot is freed only when its core is.
    private func execute(_ run: DeviceAgentAction.Run, module: any LoadedModule, cancelled: AsyncStream<Void>) async {
        HopTrace.mark("device.run-start")
        let startedAt = ContinuousClock.now
        let inputs = run.inputs
        let outcome = await withTaskGroup(of: DeviceAgentRunOutcome?.self) { group in
            group.addTask {
                do throws(ModuleError) { return .finished(.success(try await module.run(inputs))) } catch { return .finished(.failure(error)) }
            }
            group.addTask {
                for await _ in cancelled {}
                return Task.isCancelled ? nil : .stopped
            }
            var outcome: DeviceAgentRunOutcome?
            while outcome == nil, let next = await group.next() {
                outcome = next
                if outcome != nil { group.cancelAll() }
            }
            // Every child is done here; nil only when the agent itself was cancelled first.
            return outcome ?? .stopped
        }
        HopTrace.mark("device.run-end")
        cancels[run.ticket] = nil
        let computeMs = Self.milliseconds(ContinuousClock.now - startedAt)
        await perform(machine.runFinished(run.ticket, outcome, computeMs: computeMs, nowMs: Self.nowMs()))
    }

    /// Sleeps until `deadlineMs` (Unix ms), then tells the machine the time.
    private nonisolated func watchDeadline(_ deadlineMs: Int) async {
        while !Task.isCancelled {
            let remaining = Double(deadlineMs) - Self.nowMs()
            guard remaining > 0 else {
                await tick()
                return
            }
            do {
                // At most an hour per sleep: any deadline in ValueRange.timestampMs converts safely.
                try await Task.sleep(for: .microseconds(Int64((min(remaining, 3_600_000) * 1000).rounded(.up))))
            } catch {
                return
            }
        }
    }

    /// Publishes an answer; one that cannot be encoded or published (e.g. outputs over the
    /// broker's packet limit, or refused by its ACL) is answered with an error instead, so the
    /// aggregator does not wait for the deadline. Sent without waiting for the broker's
    /// acknowledgement, so answers made together (a batch's) leave together; ``answersInFlight``
    /// counts them until it arrives.
    func publish(_ answer: DeviceAgentAction.Answer) {
        HopTrace.mark("device.answer")
        var partial = answer.partial
        let bundle: TensorBundle
        do {
            bundle = try partial.bundle(outputs: answer.outputs)
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
        let payload = bundle.encoded(), properties = MQTTProperties(partial.properties(traceparent: answer.traceparent))
        // A partials topic, or an unreadable invocation's MQTT 5 response topic.
        let message = (try? MQTTMessage(topic: answer.topic, payload: payload, properties: properties, on: topics))
            ?? MQTTMessage(responseTopic: answer.topic, payload: payload, properties: properties)
        guard !closing else {
            logger.info("not answered: the device is disconnecting", metadata: ["request.id": "\(partial.requestID)"])
            return
        }
        answersInFlight += 1
        let sent = DeviceAgentAction.Answer(partial: partial, outputs: TensorBundle(), topic: answer.topic, traceparent: answer.traceparent)
        do {
            try connection.send(message) { [work] error in work.yield(.answered(sent, error)) }
        } catch {
            answersInFlight -= 1
            failed(sent, error, bytes: message.payload.count)
        }
    }

    /// A sent answer's acknowledgement.
    private func acknowledged(_ answer: DeviceAgentAction.Answer, _ error: MQTTError?) {
        answersInFlight -= 1
        if let error { failed(answer, error, bytes: nil) }
    }

    /// An answer that could not be published: an `ok` one is answered with an error instead.
    private func failed(_ answer: DeviceAgentAction.Answer, _ error: MQTTError, bytes: Int?) {
        var partial = answer.partial
        guard partial.status == .ok, error.code != .closed else {
            logger.warning("answer not published", metadata: ["request.id": "\(partial.requestID)", "node": "\(partial.node)", "error": "\(error)"])
            return
        }
        logger.warning("answer not published; answering an error", metadata: ["request.id": "\(partial.requestID)", "node": "\(partial.node)", "error": "\(error)"])
        partial.status = .error
        partial.error = "the outputs\(bytes.map { " (\($0) bytes)" } ?? "") could not be published: \(error.message)"
        publish(.init(partial: partial, outputs: TensorBundle(), topic: answer.topic, traceparent: answer.traceparent))
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return max(0, Double(parts.seconds) * 1000 + Double(parts.attoseconds) * 1e-15)
    }
}
