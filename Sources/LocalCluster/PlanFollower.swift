import Foundation
import Logging
import MQTTBus
import S2M3Core

/// Tells each later plan whose placement or unavailable tasks differ from the last one told
/// (``ClusterEvent/replanned(_:)``), as the monitor `up-plans`.
struct PlanFollower {
    let broker: MQTTBrokerConfiguration
    let root: String
    let events: @Sendable (ClusterEvent) -> Void

    func follow(after first: PlanMessage) async {
        var logger = Logger(label: "s2m3.local-cluster")
        logger.logLevel = .warning
        let connection = MQTTConnection(configuration: broker.configuration(clientID: "s2m3-up-plans-\(getpid())"), logger: logger)
        var last = first
        do {
            try await connection.connect()
            let messages = connection.messages
            try await connection.subscribe(Topics(root: root).plan)
            for await message in messages where !message.payload.isEmpty {
                guard let plan = try? PlanMessage(json: message.payload), plan.epoch > last.epoch else { continue }
                defer { last = plan }
                guard plan.placement != last.placement || plan.unavailableTasks != last.unavailableTasks else { continue }
                events(.replanned(plan))
            }
        } catch {
            if !Task.isCancelled { events(.planFollowingFailed("\(error)")) }
        }
        await connection.disconnect()
    }
}
