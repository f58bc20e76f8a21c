import Inference
import Logging
import MQTTBus
import Runtime
import S2M3Core

/// The newest assignment not yet applied (nil inside: the retained assignment was cleared).
struct PendingAssignment: Sendable {
    var assignment: DeviceAssignment?
}

extension DeviceAgentService {
    /// Keeps the newest assignment and applies assignments one at a time, newest last.
    func receiveAssignment(_ message: MQTTMessage) {
        var assignment: DeviceAssignment?
        if !message.payload.isEmpty {
            do {
                assignment = try DeviceAssignment(json: message.payload)
            } catch {
                logger.warning("ignoring an invalid assignment", metadata: ["error": "\(error)"])
                return
            }
        }
        pendingAssignment = PendingAssignment(assignment: assignment)
        assignmentSignal.yield()
    }

    /// Applies the newest pending assignment until none is left (run by the assignment task only).
    func applyPendingAssignments() async {
        applyingAssignment = true
        defer { applyingAssignment = false }
        while let next = pendingAssignment {
            pendingAssignment = nil
            guard !stopping else { return }
            await apply(next.assignment)
        }
    }

    private func apply(_ assignment: DeviceAssignment?) async {
        switch hosting.decide(assignment) {
        case .ignore(let why):
            logger.info("assignment ignored", metadata: ["reason": "\(why)"])
        case .refuse(let reason):
            logger.warning("assignment refused", metadata: ["assignment.epoch": "\(assignment?.epoch ?? 0)", "reason": "\(reason)"])
            await publishTelemetry()
        case .apply(let change):
            await apply(change)
        }
    }

    private func apply(_ change: HostingState.Change) async {
        if !change.load.isEmpty { await publishTelemetry() }  // reports `loading`
        if change.unloadFirst {
            for id in change.unload { await unload(id) }
        }
        for kept in change.keep { hosting.recount(kept) }
        var loadedNow: [String] = []
        var failure: String?
        for module in change.load {
            let before = try? ResidentMemory.currentBytes()
            do {
                let loaded = try await loader.load(module.module)
                do {
                    if configuration.warmUp { try await loaded.warmUp() }
                } catch {
                    failure = "warming up module '\(module.module)' failed: \(error)"
                    break
                }
                modules[module.module] = loaded
                hosting.loaded(module)
                loadedNow.append(module.module)
                // Catalog entries with the same digest are one module: answer under each id.
                for id in aliases(of: module.module) {
                    let topic = topics.moduleInvoke(module: id, device: device)
                    invokeTopics[topic] = id
                    try await connection.subscribe(topic)
                }
            } catch {
                failure = "loading module '\(module.module)' failed: \(error)"
                break
            }
            let grown = (try? ResidentMemory.currentBytes()).flatMap { after in before.map { after - $0 } } ?? 0
            logger.info(
                "module loaded",
                metadata: ["module.id": "\(module.module)", "memory.counted": "\(module.memoryBytes)", "memory.resident-growth": "\(grown)"])
            if module.memoryBytes > 0, grown > module.memoryBytes * 3 / 2 {
                logger.warning(
                    "loading grew resident memory by more than 1.5 × the memory counted for the module; the planner's figure may be low",
                    metadata: ["module.id": "\(module.module)", "memory.counted": "\(module.memoryBytes)", "memory.resident-growth": "\(grown)"])
            }
        }
        if let failure {
            // Keep what it had: undo this change's loads (its unloads happened only if they had to).
            for id in loadedNow { await unload(id) }
            logger.warning("assignment refused", metadata: ["assignment.epoch": "\(change.epoch ?? 0)", "reason": "\(failure)"])
        } else if !change.unloadFirst {
            for id in change.unload { await unload(id) }
        }
        hosting.finish(change, failure: failure.map { $0 + (change.unloadFirst ? "; modules not assigned were unloaded" : "; nothing changed") })
        metrics.hosting(usedBytes: hosting.usedBytes, appliedEpoch: failure == nil ? change.epoch : nil)
        if failure == nil, let epoch = change.epoch {
            logger.info("assignment applied", metadata: ["assignment.epoch": "\(epoch)", "modules": "\(loadedModules)"])
        }
        await publishTelemetry()
    }

    /// The catalog ids that are the same module as `id` (equal digests), `id` first.
    func aliases(of id: String) -> [String] {
        [id] + loader.catalog.modules.map(\.id).filter { $0 != id && loader.catalog.sharedID[$0] == loader.catalog.sharedID[id] }
    }

    /// The loaded module answering invocations addressed to `id` (itself or an alias).
    func loadedModule(answering id: String) -> (any LoadedModule)? {
        modules[id] ?? aliases(of: id).lazy.compactMap { self.modules[$0] }.first
    }

    func unload(_ id: String) async {
        for alias in aliases(of: id) {
            let topic = topics.moduleInvoke(module: alias, device: device)
            guard invokeTopics.removeValue(forKey: topic) != nil else { continue }
            do {
                try await connection.unsubscribe(topic)
            } catch {
                logger.warning("unsubscribe failed", metadata: ["mqtt.topic": "\(topic)", "error": "\(error)"])
            }
        }
        modules[id] = nil
        hosting.unloaded(id)
        logger.info("module unloaded", metadata: ["module.id": "\(id)"])
    }
}
