import ArgumentParser

/// `s2m3 bench`: benchmarks (not tests). Each subcommand prints Markdown tables for docs/.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and print its tables as Markdown.",
        subcommands: [BenchPlacementCommand.self]
    )
}
