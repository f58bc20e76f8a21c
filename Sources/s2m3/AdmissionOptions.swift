import Foundation
import Aggregator
import ArgumentParser
import S2M3Core

/// The admission flags of `s2m3 aggregator` and `s2m3 serve` (docs/aggregator.md, "Admission").
struct AdmissionOptions: ParsableArguments {
    @Option(help: "Requests in flight over every task; more are answered 'overloaded' at once (default: what the plan's devices can queue).")
    var maxInFlight: Int?

    @Option(help: ArgumentHelp("Requests in flight of one task, as task=count (repeatable; default: what the task's devices can queue).", valueName: "task=count"))
    var taskMaxInFlight: [String] = []

    @Option(help: "Tasks admitted first, comma-separated: the others may fill only 75 % of the total limit.")
    var priorityTasks: String?

    @Flag(help: "Take every request (no admission limits; only --max-in-flight-bytes bounds them): the benchmark's baseline.")
    var noAdmission = false

    @Option(help: "Rounds of 'busy' answers from every replica a request waits out (25 ms, doubling) before it is answered 'overloaded'.")
    var maxBusyRetries: Int = 5

    @Option(help: "Longest wait between those rounds, ms.")
    var busyBackoffCapMs: Int = 1_000

    /// The configuration the flags set, or why not.
    func configuration() throws -> AdmissionConfiguration {
        var admission = AdmissionConfiguration()
        admission.enabled = !noAdmission
        admission.maxInFlight = maxInFlight
        for entry in taskMaxInFlight {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, Topics.isValidIdentifier(parts[0]), let count = Int(parts[1]) else {
                throw ValidationError("--task-max-in-flight '\(entry)' must be task=count")
            }
            admission.maxInFlightPerTask[parts[0]] = count
        }
        admission.priorityTasks = (priorityTasks ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        do { try admission.validate() } catch { throw ValidationError("\(error.field ?? "admission"): \(error.message)") }
        guard maxBusyRetries >= 0 else { throw ValidationError("--max-busy-retries must be at least 0") }
        guard busyBackoffCapMs >= 1 else { throw ValidationError("--busy-backoff-cap-ms must be at least 1") }
        return admission
    }
}
