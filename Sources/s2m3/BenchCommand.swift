import ArgumentParser

/// `s2m3 bench …`: benchmarks (not tests). Each writes its table to docs/benchmarks.md.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and write its table to docs/benchmarks.md.",
        subcommands: [BenchBusCommand.self]
    )
}
