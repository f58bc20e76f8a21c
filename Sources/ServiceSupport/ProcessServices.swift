import Logging
import ServiceLifecycle

/// The one way a process runs its long-running parts: a `ServiceGroup` of ``services`` in
/// dependency order (shutdown runs in reverse), graceful shutdown on SIGTERM and SIGINT (each
/// service stops taking work, finishes what is in flight, and returns), and a hard limit after
/// which whatever is still running is cancelled. A service whose work is done (`s2m3 up --demo`
/// after the demo) ends the process the same graceful way; one that fails cancels the others and
/// its error is thrown.
public enum ProcessServices {
    /// Runs `services` until every one has returned (or one failed, which stops the others).
    public static func run(
        _ services: [any Service], logger: Logger, maximumShutdown: Duration = .seconds(30)
    ) async throws {
        let configured = services.map {
            ServiceGroupConfiguration.ServiceConfiguration(
                service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .cancelGroup)
        }
        var configuration = ServiceGroupConfiguration(services: configured, logger: logger)
        configuration.gracefulShutdownSignals = [.sigterm, .sigint]
        configuration.maximumGracefulShutdownDuration = maximumShutdown
        try await ServiceGroup(configuration: configuration).run()
    }
}
