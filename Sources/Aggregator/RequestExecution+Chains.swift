import Catalog
import S2M3Core

extension RequestExecution {
    /// The nodes to chain after `head` on `device`, in execution order: not started, reading at
    /// least one output of the chain and otherwise only values already known, with a module the
    /// plan puts on `device` (loaded there, as far as telemetry says), `device` not given up on
    /// for that node, and no other replica of the module predicted to finish more than
    /// ``Settings/chainSlackMs`` sooner (a busy device's chain does not keep work from an idle
    /// replica).
    func chainMembers(after head: TaskNode, on device: String, router: ReplicaChooser) -> [TaskNode] {
        guard settings.chains, !settings.sequential else { return [] }
        var inChain: Set = [head.id]
        var members: [TaskNode] = []
        for candidate in binding.nodes where nodes[candidate.id] == .idle && candidate.id != head.id {
            guard candidate.inputs.contains(where: inChain.contains),
                  candidate.inputs.allSatisfy({ inChain.contains($0) || values[$0] != nil })
            else { continue }
            let module = binding.module(of: candidate).id
            let avoid = (excluded[candidate.id] ?? []).union(busy[candidate.id] ?? []).union(timedOut[candidate.id] ?? [])
            let replicas = router.replicas(of: module)
            guard !avoid.contains(device), replicas.contains(device), router.isLoaded(module, on: device) else { continue }
            let elsewhere = replicas.filter { $0 != device && !avoid.contains($0) && router.hasRoom($0) }
                .map { router.predictedFinishMs(module, on: $0) }.min() ?? .infinity
            guard router.predictedFinishMs(module, on: device) <= elsewhere + settings.chainSlackMs else { continue }
            members.append(candidate)
            inChain.insert(candidate.id)
        }
        return members
    }

    /// Whether the aggregator needs `node`'s outputs when `chain` (its ids) runs on one device: it
    /// is an output of the task, or a node outside the chain reads it.
    func returnsOutputs(_ node: String, chain: Set<String>) -> Bool {
        binding.task.outputNodes.contains(node)
            || binding.nodes.contains { !chain.contains($0.id) && $0.inputs.contains(node) }
    }

    /// `arguments` with the known values the chained `members` read added as `~{value}~{tensor}`
    /// tensors (each value once).
    func chainArguments(_ arguments: TensorBundle, head: TaskNode, members: [TaskNode]) -> TensorBundle {
        var bundle = arguments
        let chain = Set([head.id] + members.map(\.id))
        var added: Set<String> = []
        let prefix = InvokeRequest.chainValuePrefix
        for member in members {
            for source in member.inputs where !chain.contains(source) && added.insert(source).inserted {
                guard let value = values[source] else { continue }
                for name in value.names {
                    guard let tensor = value[name] else { continue }
                    let key = prefix + source + prefix + name
                    try? bundle.set(tensor, named: key)
                    bundle.metadata[TensorBundle.contentTypeKeyPrefix + key] = value.contentType(of: name)
                }
            }
        }
        return bundle
    }

    /// Records `head` and its chained `members` as sent to `device` and returns the invocation.
    mutating func send(
        _ head: TaskNode, members: [TaskNode], arguments: TensorBundle, to device: String, router: inout ReplicaChooser, nowMs: Double
    ) -> Invocation {
        let planEpoch = router.plan?.epoch ?? 1
        epoch = max(epoch, planEpoch)
        let chainIDs = Set([head.id] + members.map(\.id))
        // Every node of the chain may wait for the whole queue ahead of it: one timeout for all.
        let predictedMs = members.isEmpty
            ? router.predictedFinishMs(binding.module(of: head).id, on: device)
            : router.latestFinishMs(chain: ([head] + members).map { binding.module(of: $0).id }, on: device)
        let timeout = max(settings.invocationTimeoutFloorMs, settings.invocationTimeoutFactor * predictedMs)
        var steps: [InvokeRequest.Step] = []
        let headAttempt = (sent[head.id]?.keys.max() ?? 0) + 1
        let chainKey = members.isEmpty ? nil : "\(head.id)#\(headAttempt)"
        let workMs = ([head] + members).reduce(0) { $0 + router.moduleMs(binding.module(of: $1).id, on: device) }
        for (index, node) in ([head] + members).enumerated() {
            let module = binding.module(of: node).id
            let attempt = index == 0 ? headAttempt : (sent[node.id]?.keys.max() ?? 0) + 1
            let returns = members.isEmpty || returnsOutputs(node.id, chain: chainIDs)
            // A chain holds one queue place on its device: only its last node is counted.
            sent[node.id, default: [:]][attempt] = Sent(
                device: device, module: module, sentAtMs: nowMs, timeoutAtMs: nowMs + timeout, counted: index == members.count,
                workMs: index == members.count ? workMs : 0, chain: chainKey, returnsOutputs: returns, chainedAfter: index == 0 ? nil : ([head] + members)[index - 1].id)
            nodes[node.id] = .running(attempt: attempt)
            if index > 0 {
                steps.append(.init(
                    node: node.id, module: module, attempt: attempt, returnsOutputs: returns,
                    arguments: binding.argumentSources(of: node).map { .init(value: $0.value, tensor: $0.tensor) }))
            }
        }
        router.dispatched(to: device, workMs: workMs)
        let request = InvokeRequest(
            requestID: requestID, task: task, node: head.id, module: binding.module(of: head).id, epoch: planEpoch, attempt: headAttempt,
            replyTo: settings.aggregator, deadlineMs: deadlineMs, traceparent: traceparent,
            returnsOutputs: members.isEmpty || returnsOutputs(head.id, chain: chainIDs), chain: steps)
        return Invocation(device: device, request: request, arguments: chainArguments(arguments, head: head, members: members))
    }

    /// `node` (running as `attempt`, or just answered) will not give a value from that attempt:
    /// the rest of its chain will not run either, and each of them is sent again once its inputs
    /// are known; a chained node whose output stayed on the device (``Sent/returnsOutputs``) is
    /// run again for the nodes that still need it.
    mutating func retry(_ node: String, attempt: Int, router: inout ReplicaChooser, nowMs: Double) {
        var again = [node]
        if let chain = sent[node]?[attempt]?.chain {
            for other in binding.nodes where other.id != node {
                guard case .running(let otherAttempt) = nodes[other.id], sent[other.id]?[otherAttempt]?.chain == chain else { continue }
                release(other.id, otherAttempt, router: &router)
                again.append(other.id)
            }
        }
        var seen: Set<String> = []
        while let id = again.popLast() {
            guard seen.insert(id).inserted, let current = binding.node(id) else { continue }
            let missing = current.inputs.filter { values[$0] == nil }
            guard !missing.isEmpty else {
                nodes[id] = .ready(notBefore: nowMs)
                continue
            }
            nodes[id] = .idle
            again += missing.filter { nodes[$0] == .done || nodes[$0] == .idle }
        }
    }

    /// An `ok` answer of a chained node came in: the nodes after it in its chain start from now
    /// (their timeline spans and transfer times count from this answer, not from the chain's send).
    mutating func chainAdvanced(_ chain: String, nowMs: Double) {
        for (node, attempts) in sent {
            for (attempt, record) in attempts where record.chain == chain && nodes[node] == .running(attempt: attempt) {
                sent[node]?[attempt]?.sentAtMs = max(record.sentAtMs, nowMs)
            }
        }
    }
}
