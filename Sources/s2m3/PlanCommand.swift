import ArgumentParser
import Foundation
import PlacementPlanning
import S2M3Core

/// `s2m3 plan`: places an instance's modules on its devices and prints the plan.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Place the modules of a placement instance (JSON, see docs/placement.md) on its devices."
    )

    @Option(help: "The instance file (JSON).")
    var instance: String

    @Option(help: "greedy (the paper's rule), exact (branch and bound) or auto.")
    var algorithm: PlacementAlgorithm = .auto

    @Option(help: "A previous plan (the output of --json) to re-plan from, moving as few modules as possible.")
    var previous: String?

    @Option(help: "Time limit of the whole solve for exact and auto, in seconds (default 60 for exact, 2 for auto).")
    var timeLimit: Double?

    @Flag(help: "Print the plan as JSON (schema s2m3.placement-report/1).")
    var json = false

    @Flag(help: "Say why each module sits where it does and what the runner-up device would cost.")
    var explain = false

    func run() throws {
        let problem = try load(instance, what: "instance")
        let parsed: PlacementInstance
        do {
            parsed = try PlacementInstance(json: problem)
        } catch {
            throw PlanCommandError("\(instance): \(error.message)")
        }
        var previousHosts: [String: [String]]?
        if let previous {
            do {
                previousHosts = try PlacementReport.hosts(fromJSON: try load(previous, what: "previous plan"))
            } catch let error as PlacementError {
                throw PlanCommandError("\(previous): \(error.message)")
            }
        }
        var options = PlacementOptions()
        if let timeLimit {
            guard timeLimit > 0, timeLimit <= 86_400 else { throw ValidationError("--time-limit must be in (0, 86400] seconds") }
            options.exactTimeLimit = .milliseconds(Int(timeLimit * 1000))
            options.autoExactTimeLimit = options.exactTimeLimit
        }
        let result: PlacementResult
        do {
            result = try Placement.solve(parsed, algorithm: algorithm, previousHosts: previousHosts, options: options)
        } catch {
            throw PlanCommandError("\(error.code): \(error.message)")
        }
        let report = PlacementReport(instance: parsed, result: result)
        if json {
            print(String(decoding: report.jsonData(), as: UTF8.self))
        } else {
            print(PlanText(instance: parsed, report: report).text)
        }
        if explain {
            do {
                let explanation = try PlacementExplanation(instance: parsed, placement: result.placement)
                print(json ? explanation.text : "\nWhy:\n" + explanation.text)
            } catch {
                throw PlanCommandError("\(error.code): \(error.message)")
            }
        }
    }

    private func load(_ path: String, what: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PlanCommandError("cannot read the \(what) file '\(path)': \(error.localizedDescription)")
        }
    }
}

extension PlacementAlgorithm: ExpressibleByArgument {}

/// A failure of `s2m3 plan` that is about the input, not the command line: printed without usage.
struct PlanCommandError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
