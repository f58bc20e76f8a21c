import Foundation
import MQTTBus
import S2M3Bus
import S2M3Core

/// The planner as administrator of Mosquitto's dynamic-security plugin (``PlanAccess``): around
/// each plan publication it widens the devices' grants to the new plan before publishing and
/// narrows them to exactly the plan after, waiting for the plugin's answer each time.
extension PlannerService {
    /// How long to wait for the plugin's answer to one batch of commands.
    static let accessTimeout: Duration = .seconds(5)

    /// Brings the devices' grants to `plan` (reading unknown roles first): widened to what they hold
    /// too before the plan is published, narrowed to exactly it after. Failures are logged:
    /// the plan is published anyway (a device without its grant receives nothing, which the
    /// aggregator's deadlines turn into errors), and the device's role is read again next time.
    func syncAccess(to plan: [String: Set<String>], widening: Bool) async {
        guard var access else { return }
        let reads = access.readCommands(for: plan)
        if !reads.isEmpty {
            guard let answers = await administer(reads) else {
                logger.error("dynamic-security: no answer to reading \(reads.count) device role(s) within \(Self.accessTimeout)")
                return
            }
            for problem in access.learn(reads, answers) {
                logger.warning("dynamic-security: device role not managed (\(problem)); its access is left as it is")
            }
        }
        let changes = access.changeCommands(to: widening ? access.widened(plan) : access.narrowed(plan))
        self.access = access
        guard !changes.isEmpty else { return }
        guard let answers = await administer(changes) else {
            logger.error("dynamic-security: no answer to \(changes.count) access change(s) within \(Self.accessTimeout)")
            self.access?.forget()
            return
        }
        for problem in self.access?.applied(changes, answers) ?? [] {
            logger.error("dynamic-security refused an access change: \(problem)")
        }
        logger.info("dynamic-security: \(changes.count) access change(s) applied")
    }

    /// Sends one batch and waits for its answers (in command order), or nil after ``accessTimeout``
    /// or when the publish fails.
    func administer(_ commands: [DynamicSecurityCommand]) async -> [DynamicSecurityResponse]? {
        accessBatches += 1
        let batch = "\(presence.session)-\(accessBatches)"
        var tagged = commands
        for index in tagged.indices { tagged[index].correlationData = "\(batch)/\(index)" }
        let payload: [UInt8]
        do {
            payload = Array(try JSONEncoder().encode(["commands": tagged]))
        } catch {
            logger.error("dynamic-security commands not encoded: \(error)")
            return nil
        }
        let connection = connection
        let answers: [DynamicSecurityResponse]? = await withCheckedContinuation { continuation in
            accessWaiters[batch] = (commands.count, continuation)
            Task {
                try? await Task.sleep(for: Self.accessTimeout)
                self.finishAccess(batch, with: nil)
            }
            Task {
                do {
                    try await connection.publish(.dynamicSecurityCommands(payload))
                } catch {
                    self.logger.error("dynamic-security commands not sent: \(error)")
                    self.finishAccess(batch, with: nil)
                }
            }
        }
        return answers
    }

    /// A message on ``Topics/dynamicSecurityResponses``: the answers of one batch, matched by
    /// their correlation data (`{batch}/{index}`); anything else is logged and dropped.
    func receiveAccessAnswers(_ payload: [UInt8]) {
        guard let answers = try? JSONDecoder().decode(DynamicSecurityResponses.self, from: Data(payload)) else {
            logger.warning("ignoring a dynamic-security answer that is not its JSON (\(payload.count) bytes)")
            return
        }
        var batches: [String: [Int: DynamicSecurityResponse]] = [:]
        for answer in answers.responses {
            guard let tag = answer.correlationData, let slash = tag.lastIndex(of: "/"),
                let index = Int(tag[tag.index(after: slash)...])
            else { continue }
            batches[String(tag[..<slash]), default: [:]][index] = answer
        }
        for (batch, byIndex) in batches {
            guard let (count, _) = accessWaiters[batch] else { continue }
            // An answer missing for a command counts as that command's failure.
            let ordered = (0..<count).map { byIndex[$0] ?? DynamicSecurityResponse(error: "no answer for this command") }
            finishAccess(batch, with: ordered)
        }
    }

    private func finishAccess(_ batch: String, with answers: [DynamicSecurityResponse]?) {
        guard let (_, continuation) = accessWaiters.removeValue(forKey: batch) else { return }
        continuation.resume(returning: answers)
    }
}
