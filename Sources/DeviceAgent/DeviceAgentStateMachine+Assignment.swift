import S2M3Core

extension DeviceAgentStateMachine {
    /// An assignment being applied: its change, the loads still to do, the one loading now.
    struct Application: Sendable {
        var change: HostingState.Change
        var remaining: [HostingState.Hosted]
        var loading: HostingState.Hosted?
        /// Modules this change has loaded so far (unloaded again if a later load fails).
        var loadedNow: [String] = []
    }

    /// The retained assignment changed (an empty payload: it was cleared). The newest one waits
    /// while another is applied; assignments in between are skipped.
    mutating func receiveAssignment(_ payload: [UInt8]) -> [DeviceAgentAction] {
        var assignment: DeviceAssignment?
        if !payload.isEmpty {
            do {
                assignment = try DeviceAssignment(json: payload)
            } catch {
                return [.log(.warning, "ignoring an invalid assignment", ["error": "\(error)"])]
            }
        }
        guard !stopping else { return [] }
        pending = .some(assignment)
        return applying == nil ? applyPending() : []
    }

    /// Applies the newest pending assignment; returns when a load is under way or none is left.
    private mutating func applyPending() -> [DeviceAgentAction] {
        var actions: [DeviceAgentAction] = []
        while applying == nil, let next = pending, !stopping {
            pending = nil
            switch hosting.decide(next) {
            case .ignore(let why):
                actions.append(.log(.info, "assignment ignored", ["reason": "\(why)"]))
            case .refuse(let reason):
                actions.append(.log(.warning, "assignment refused", ["assignment.epoch": "\(next?.epoch ?? 0)", "reason": "\(reason)"]))
                actions += telemetryDue()
            case .apply(let change):
                if !change.load.isEmpty { actions += telemetryDue() }  // reports `loading`
                if change.unloadFirst {
                    for id in change.unload { actions += unload(id) }
                }
                for kept in change.keep { hosting.recount(kept) }
                applying = Application(change: change, remaining: change.load)
                actions += loadNext()
            }
        }
        return actions
    }

    /// Starts the next load of the application, or finishes it.
    private mutating func loadNext() -> [DeviceAgentAction] {
        guard var application = applying else { return [] }
        guard !application.remaining.isEmpty else { return finish(failure: nil) }
        let module = application.remaining.removeFirst()
        application.loading = module
        applying = application
        return [.load(module)]
    }

    /// A load ended: `callInputs` are the loaded module's input names, or nil when it failed with
    /// `failure`. The next load starts, or the application finishes (a failure undoes its loads).
    /// - Parameter batchable: whether its invocations may run as one batch (``Catalog/ModuleManifest/isBatchable``).
    public mutating func loadFinished(_ module: String, callInputs: Result<[String], LoadFailure>, batchable: Bool = false) -> [DeviceAgentAction] {
        guard var application = applying, let hosted = application.loading, hosted.module == module else { return [] }
        application.loading = nil
        switch callInputs {
        case .success(let inputs):
            loaded[module] = inputs
            if batchable { self.batchable.insert(module) }
            hosting.loaded(hosted)
            application.loadedNow.append(module)
            applying = application
            // Catalog entries with the same digest are one module: answer under each id.
            var actions: [DeviceAgentAction] = []
            for id in aliases(of: module) {
                let topic = topics.moduleInvoke(module: id, device: device)
                invokeTopics[topic] = id
                actions.append(.subscribe(topic))
            }
            actions += loadNext()
            return actions + applyPending()
        case .failure(let failure):
            applying = application
            var actions: [DeviceAgentAction] = []
            // Keep what it had: undo this change's loads (its unloads happened only if they had to).
            for id in application.loadedNow { actions += unload(id) }
            actions += finish(failure: "loading module '\(module)' failed: \(failure.reason)")
            return actions + applyPending()
        }
    }

    /// Why a load failed (the loader's error, as text).
    public struct LoadFailure: Error, Sendable, Hashable {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
    }

    private mutating func finish(failure: String?) -> [DeviceAgentAction] {
        guard let application = applying else { return [] }
        let change = application.change
        var actions: [DeviceAgentAction] = []
        if let failure {
            actions.append(.log(.warning, "assignment refused", ["assignment.epoch": "\(change.epoch ?? 0)", "reason": "\(failure)"]))
        } else if !change.unloadFirst {
            for id in change.unload { actions += unload(id) }
        }
        hosting.finish(change, failure: failure.map { $0 + (change.unloadFirst ? "; modules not assigned were unloaded" : "; nothing changed") })
        actions.append(.count(.hosting(usedBytes: hosting.usedBytes, appliedEpoch: failure == nil ? change.epoch : nil)))
        if failure == nil, let epoch = change.epoch {
            actions.append(.log(.info, "assignment applied", ["assignment.epoch": "\(epoch)", "modules": "\(loadedModules)"]))
        }
        applying = nil
        return actions + telemetryDue()
    }

    private mutating func unload(_ id: String) -> [DeviceAgentAction] {
        var actions: [DeviceAgentAction] = []
        for alias in aliases(of: id) {
            let topic = topics.moduleInvoke(module: alias, device: device)
            if invokeTopics.removeValue(forKey: topic) != nil { actions.append(.unsubscribe(topic)) }
        }
        loaded[id] = nil
        batchable.remove(id)
        hosting.unloaded(id)
        return actions + [.unload(id), .log(.info, "module unloaded", ["module.id": "\(id)"])]
    }
}
