import Catalog
import S2M3Core

extension RequestExecution {
    /// A device answered one invocation. `outputs` is the partial's bundle (its tensors are the
    /// module's call outputs when `ok`).
    public mutating func receive(
        _ partial: PartialResult, outputs: TensorBundle, router: inout ReplicaChooser, nowMs: Double
    ) -> [Action] {
        guard !isFinished, let state = nodes[partial.node], state != .done,
              var record = sent[partial.node]?[partial.attempt], record.device == partial.device,
              answered.insert("\(partial.node)#\(partial.attempt)").inserted
        else { return [] }
        if record.counted {
            router.released(from: record.device, workMs: record.workMs)
            record.counted = false
            sent[partial.node]?[partial.attempt] = record
        }
        let start = record.sentAtMs - receivedAtMs
        let end = max(nowMs - receivedAtMs, start)
        var entry = TaskTimelineEntry(
            node: partial.node, module: partial.module, device: partial.device, attempt: partial.attempt,
            queuedMs: partial.queueWaitMs, computeMs: partial.computeMs,
            transferMs: max(0, end - start - partial.queueWaitMs - partial.computeMs),
            startMs: max(0, start), endMs: max(0, end))
        entry.chainedAfter = record.chainedAfter
        timeline.append(entry)
        let isCurrent = state == .running(attempt: partial.attempt)
        switch partial.status {
        case .ok:
            if record.returnsOutputs {
                var value = outputs
                value.metadata = outputs.metadata.filter { $0.key.hasPrefix(TensorBundle.contentTypeKeyPrefix) }
                values[partial.node] = value
            } else if !isCurrent {
                return []  // an abandoned chain's node whose output stayed on its device: of no use now
            }
            if let chain = record.chain { chainAdvanced(chain, nowMs: nowMs) }
            nodes[partial.node] = .done
            releaseAll(of: partial.node, router: &router)
            if binding.task.outputNodes.allSatisfy({ nodes[$0] == .done }) {
                return finish(nowMs: nowMs, router: &router)
            }
        case .busy:
            guard isCurrent else { return [] }
            busy[partial.node, default: []].insert(partial.device)
            lastAnsweredBusy.insert(partial.node)
            retry(partial.node, attempt: partial.attempt, router: &router, nowMs: nowMs)
        case .error:
            lastAnsweredBusy.remove(partial.node)
            let text = partial.error ?? "no reason given"
            if Self.isInputError(text) {
                return fail(.badInput, "\(Self.inputField(of: partial.node, in: binding) ?? "node '\(partial.node)'") was rejected by module '\(partial.module)' on \(partial.device): \(text)",
                            field: Self.inputField(of: partial.node, in: binding), router: &router)
            }
            if Self.isDeadlineError(text) {
                // The device did not start because the request's deadline had passed: the request
                // is late, not the module broken (topics.md: the `deadline-exceeded:` prefix).
                return fail(.deadlineExceeded, "the deadline passed before module '\(partial.module)' (node '\(partial.node)') could run on \(partial.device): \(text)",
                            field: nil, router: &router)
            }
            if Self.isTransientError(text) {
                // The module is still loading there (a re-plan just moved it): like busy, with a longer wait.
                guard isCurrent else { return [] }
                busy[partial.node, default: []].insert(partial.device)
                retry(partial.node, attempt: partial.attempt, router: &router, nowMs: nowMs)
                return pump(router: &router, nowMs: nowMs, backoffMs: settings.notLoadedBackoffMs)
            }
            errors[partial.node, default: []].append("\(partial.device): \(text)")
            excluded[partial.node, default: []].insert(partial.device)
            guard isCurrent else { return [] }
            retry(partial.node, attempt: partial.attempt, router: &router, nowMs: nowMs)
        }
        return pump(router: &router, nowMs: nowMs)
    }

    /// `device` went offline: its invocations are retried elsewhere.
    public mutating func deviceLost(_ device: String, router: inout ReplicaChooser, nowMs: Double) -> [Action] {
        guard !isFinished else { return [] }
        for node in binding.nodes {
            guard case .running(let attempt) = nodes[node.id], let record = sent[node.id]?[attempt], record.device == device
            else { continue }
            excluded[node.id, default: []].insert(device)
            release(node.id, attempt, router: &router)
            retry(node.id, attempt: attempt, router: &router, nowMs: nowMs)
        }
        return pump(router: &router, nowMs: nowMs)
    }

    /// `device` has gone silent (``ReplicaChooser/suspected``): invocations running there whose
    /// module has another live replica are sent there now, as after a timeout; a late answer of the
    /// silent device is still taken.
    public mutating func deviceSuspected(_ device: String, router: inout ReplicaChooser, nowMs: Double) -> [Action] {
        guard !isFinished else { return [] }
        var moved = false
        for node in binding.nodes {
            guard case .running(let attempt) = nodes[node.id], let record = sent[node.id]?[attempt], record.device == device
            else { continue }
            let avoid = (excluded[node.id] ?? []).union([device])
            guard router.replicas(of: record.module).contains(where: { !avoid.contains($0) }) else { continue }
            timedOut[node.id, default: []].insert(device)
            release(node.id, attempt, router: &router)
            retry(node.id, attempt: attempt, router: &router, nowMs: nowMs)
            moved = true
        }
        return moved ? pump(router: &router, nowMs: nowMs) : []
    }

    /// A newer plan arrived: devices given up on may be tried again, waiting nodes are sent.
    public mutating func planChanged(router: inout ReplicaChooser, nowMs: Double) -> [Action] {
        guard !isFinished else { return [] }
        excluded = [:]
        busy = [:]
        timedOut = [:]
        for (node, state) in nodes {
            if case .ready = state { nodes[node] = .ready(notBefore: nowMs) }
        }
        return pump(router: &router, nowMs: nowMs)
    }

    /// Time passed: the deadline, invocation timeouts and busy back-offs.
    public mutating func tick(router: inout ReplicaChooser, nowMs: Double) -> [Action] {
        guard !isFinished else { return [] }
        if nowMs >= Double(deadlineMs) {
            let waitingOnBusy = nodes.contains { node, state in
                if case .done = state { return false }
                return lastAnsweredBusy.contains(node)
            }
            let late = nodes.filter { $0.value != .done && $0.value != .idle }.map(\.key).sorted()
            if waitingOnBusy {
                return fail(.overloaded, "every replica of a needed module stayed busy until the deadline (nodes: \(late.joined(separator: ", ")))", field: nil, router: &router)
            }
            let limit = deadlineMs - Int(receivedAtMs.rounded())
            return fail(.deadlineExceeded, "no result within \(limit) ms; still waiting for: \(late.joined(separator: ", ")) (check that devices hosting their modules are online and the plan places them)", field: nil, router: &router)
        }
        var changed = false
        for node in binding.nodes {
            switch nodes[node.id] {
            case .running(let attempt):
                guard let record = sent[node.id]?[attempt], nowMs >= record.timeoutAtMs else { continue }
                timedOut[node.id, default: []].insert(record.device)
                release(node.id, attempt, router: &router)
                retry(node.id, attempt: attempt, router: &router, nowMs: nowMs)
                changed = true
            case .ready(let notBefore):
                if notBefore <= nowMs { changed = true }
            default:
                continue
            }
        }
        return changed ? pump(router: &router, nowMs: nowMs) : []
    }

    // MARK: Dispatch

    /// Marks newly ready nodes and sends every ready node it can.
    mutating func pump(router: inout ReplicaChooser, nowMs: Double, backoffMs: Double? = nil) -> [Action] {
        let available = Set(values.keys)
        let started = Set(nodes.filter { $0.value != .idle }.map(\.key))
        for node in binding.readyNodes(available: available, started: started) {
            nodes[node.id] = .ready(notBefore: nowMs)
        }
        var actions: [Action] = []
        for node in binding.nodes {
            guard case .ready(let notBefore) = nodes[node.id], notBefore <= nowMs else { continue }
            if settings.sequential, nodes.values.contains(where: { if case .running = $0 { true } else { false } }) { break }
            let module = binding.module(of: node).id
            let avoid = (excluded[node.id] ?? []).union(busy[node.id] ?? [])
            var choice = router.choose(module: module, excluding: avoid.union(timedOut[node.id] ?? []))
            if choice == nil, !(timedOut[node.id] ?? []).isEmpty {
                // Only replicas that were slow to answer are left (e.g. busy loading after a
                // re-plan): they are still online, so ask them again.
                timedOut[node.id] = nil
                choice = router.choose(module: module, excluding: avoid)
            }
            guard let device = choice else {
                if router.replicas(of: module).contains(where: { !avoid.contains($0) && !router.hasRoom($0) }) {
                    // A usable replica's queue is full of this aggregator's own invocations: the
                    // node waits here (nothing is sent) and is looked at again each tick until an
                    // answer frees a place.
                    nodes[node.id] = .ready(notBefore: nowMs + settings.roomWaitMs)
                    if settings.sequential { break }
                    continue
                }
                if !(busy[node.id] ?? []).isEmpty {
                    // Every usable replica is busy: back off (longer each round), then try them
                    // again; after maxBusyRetries rounds the request is refused, not kept sending.
                    busy[node.id] = nil
                    var wait = backoffMs ?? settings.busyBackoffMs
                    if backoffMs == nil {
                        let rounds = busyRounds[node.id, default: 0] + 1
                        busyRounds[node.id] = rounds
                        if rounds > settings.maxBusyRetries {
                            return actions + fail(
                                .overloaded, "every replica of module '\(module)' (node '\(node.id)') answered busy \(rounds) times; the cluster is at capacity",
                                field: nil, router: &router)
                        }
                        wait = min(settings.busyBackoffMs * Double(1 << min(rounds - 1, 20)), settings.busyBackoffCapMs)
                    }
                    nodes[node.id] = .ready(notBefore: nowMs + wait)
                } else if let failures = errors[node.id], !failures.isEmpty,
                          router.replicas(of: module).allSatisfy({ excluded[node.id]?.contains($0) ?? false }) {
                    return actions + fail(
                        .moduleFailed, "module '\(module)' (node '\(node.id)') failed on every replica tried: \(failures.joined(separator: "; "))",
                        field: nil, router: &router)
                } else {
                    nodes[node.id] = .ready(notBefore: .infinity)  // until a newer plan
                }
                if settings.sequential { break }
                continue
            }
            let arguments: TensorBundle
            do {
                arguments = try binding.arguments(of: node, values: values)
            } catch {
                return actions + fail(.internalError, "cannot build the arguments of node '\(node.id)': \(error.message)", field: nil, router: &router)
            }
            let members = chainMembers(after: node, on: device, router: router)
            actions.append(.invoke(send(node, members: members, arguments: arguments, to: device, router: &router, nowMs: nowMs)))
            if settings.sequential { break }
        }
        return actions
    }

    // MARK: Ending

    mutating func finish(nowMs: Double, router: inout ReplicaChooser) -> [Action] {
        let outputs: [String: TaskOutput]
        do {
            outputs = try binding.result(values: values)
        } catch {
            return fail(.moduleFailed, "the task's output cannot be read: \(error.message)", field: error.field, router: &router)
        }
        isFinished = true
        releaseEverything(router: &router)
        let result = TaskResult(
            requestID: requestID, task: task, epoch: max(epoch, 1), outputs: outputs,
            timeline: timeline.enumerated().sorted { ($0.element.startMs, $0.offset) < ($1.element.startMs, $1.offset) }.map(\.element),
            totalMs: max(0, nowMs - receivedAtMs), aggregator: settings.aggregator, completedAtMs: Int(nowMs))
        return [.complete(result)]
    }

    mutating func fail(_ code: TaskErrorCode, _ reason: String, field: String?, router: inout ReplicaChooser) -> [Action] {
        isFinished = true
        releaseEverything(router: &router)
        return [.fail(code: code, reason: reason, field: field)]
    }

    /// Gives up on the whole request (e.g. the service stops); the chooser forgets its invocations.
    public mutating func abandon(router: inout ReplicaChooser) {
        isFinished = true
        releaseEverything(router: &router)
    }

    mutating func release(_ node: String, _ attempt: Int, router: inout ReplicaChooser) {
        guard var record = sent[node]?[attempt], record.counted else { return }
        router.released(from: record.device, workMs: record.workMs)
        record.counted = false
        sent[node]?[attempt] = record
    }

    mutating func releaseAll(of node: String, router: inout ReplicaChooser) {
        for attempt in (sent[node] ?? [:]).keys { release(node, attempt, router: &router) }
    }

    mutating func releaseEverything(router: inout ReplicaChooser) {
        for node in sent.keys { releaseAll(of: node, router: &router) }
    }

    // MARK: Input errors

    /// Whether a device's error text blames the input (topics.md: the `bad-input:` prefix).
    static func isInputError(_ text: String) -> Bool { text.hasPrefix("bad-input:") }

    /// Whether a device's error says the request's deadline had passed (topics.md: the
    /// `deadline-exceeded:` prefix; older agents wrote `deadline exceeded:`).
    static func isDeadlineError(_ text: String) -> Bool {
        text.hasPrefix("deadline-exceeded:") || text.hasPrefix("deadline exceeded:")
    }

    /// Whether a device's error says the module is not loaded there yet (topics.md: the
    /// `not-loaded:` prefix), which a short wait cures.
    static func isTransientError(_ text: String) -> Bool { text.hasPrefix("not-loaded:") }

    /// `inputs.{name}` of the task input a node reads directly, if it reads one.
    static func inputField(of node: String, in binding: TaskBinding) -> String? {
        let inputs = Set(binding.task.graph.inputs.map(\.id))
        return binding.node(node)?.inputs.first(where: inputs.contains).map { "inputs.\($0)" }
    }
}
