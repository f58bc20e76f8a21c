import Foundation
import LocalCluster
import S2M3Core

/// What `s2m3 up` prints for each ``ClusterEvent`` and for the ready cluster: the human text, or
/// with `--json` one ``ClusterJSONLine`` per line (services, ready report, exits and restarts).
struct UpText: Sendable {
    let json: Bool
    let cluster: ClusterCatalog
    let budget: Int
    let devices: Int
    let restarts: RestartPolicy?

    private func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    func event(_ event: ClusterEvent) {
        if json {
            switch event {
            case .servicesStarted(let services): say(ClusterJSONLine(services: services).encoded())
            case .serviceRestarted(let service): say(ClusterJSONLine(restarted: service).encoded())
            case .brokerRestarted(let broker): say(ClusterJSONLine(brokerRestarted: broker).encoded())
            case .serviceExited(let name, let status, _, _, _): say(ClusterJSONLine(exited: name, status: status).encoded())
            case .brokerExited(let status, _, _, _): say(ClusterJSONLine(exited: "broker", status: status).encoded())
            default: break
            }
            return
        }
        switch event {
        case .broker(let broker):
            if let log = broker.log {
                say("broker: \(broker.scheme)://\(broker.endpoint) (Mosquitto\(broker.configPortTaken ? ", its config's port was taken" : ""), log \(log))")
            } else {
                say("broker: \(broker.scheme)://\(broker.endpoint) (external)")
            }
            if let credentials = broker.credentials { say("credentials: \(credentials) (made by make-credentials.sh; removed when up stops)") }
        case .clusterFile(let path, nil):
            say("cluster file: \(path) (the other s2m3 commands read it when given no --broker)")
        case .clusterFile(let path, let error?):
            say("s2m3 up: cannot write \(path) (\(error)); give the other commands --broker")
        case .servicesStarted(let services):
            say("services: " + services.map { service in
                (service.name == "agg-1" ? "aggregator " : "") + "\(service.name) (pid \(service.pid))"
            }.joined(separator: ", "))
            let metrics = services.compactMap { service in service.metricsPort.map { "\(service.name) http://127.0.0.1:\($0)/metrics" } }
            if !metrics.isEmpty { say("metrics: " + metrics.joined(separator: ", ")) }
            if let log = services.first?.log { say("logs: \((log as NSString).deletingLastPathComponent)") }
        case .progress(let step):
            say("  \(step)")
        case .serviceExited(let name, let status, let tail, let restartIn, let crash):
            say("s2m3 up: \(name) exited unexpectedly (status \(status ?? -1)); \(restart(restartIn, crash, status)); its log ends:\n\(tail)")
        case .serviceRestarted(let service):
            say("s2m3 up: \(service.name) restarted (pid \(service.pid))")
        case .brokerExited(let status, let tail, let restartIn, let crash):
            say("s2m3 up: the broker exited unexpectedly (status \(status ?? -1)); \(restart(restartIn, crash, status)); its log ends:\n\(tail)")
        case .brokerRestarted(let broker):
            say("s2m3 up: the broker restarted on \(broker.scheme)://\(broker.endpoint) (pid \(broker.pid ?? -1))")
        case .replanned(let plan):
            say("s2m3 up: re-planned (epoch \(plan.epoch)) for \(plan.devices.joined(separator: ", "))")
            say(ClusterReport.placement(plan: plan, cluster: cluster, budget: budget))
        case .planFollowingFailed(let error):
            say("s2m3 up: cannot follow the plan any more: \(error)")
        case .stopping(let count):
            say("s2m3 up: stopping \(count) services")
        case .servicesStopped(let killed):
            say("s2m3 up: services stopped" + (killed.isEmpty ? "" : " (\(killed.joined(separator: ", ")) needed SIGKILL)"))
        case .brokerStopped:
            say("s2m3 up: broker stopped")
        }
    }

    private func restart(_ delay: Duration?, _ crash: Int, _ status: Int32?) -> String {
        guard let delay else { return status == 0 ? "not restarted (it stopped on purpose)" : "not restarted" }
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let window = restarts.map { " of \($0.crashLimit) within \($0.window.components.seconds) s" } ?? ""
        return "restarting it in \(String(format: "%.1f", seconds)) s (crash \(crash)\(window))"
    }

    func ready(_ running: RunningCluster) {
        let report = running.report
        if json {
            say(ClusterJSONLine(ready: report).encoded())
            return
        }
        func seconds(_ value: Double?) -> String { value.map { String(format: "%.1f s", $0) } ?? "-" }
        say("ready: plan for all \(devices) devices after \(seconds(report.planAfterSeconds)), every device applied it after \(seconds(report.readyAfterSeconds))")
        say(ClusterReport.placement(plan: report.plan, cluster: cluster, budget: budget))
        say(ClusterReport.sharing(report.sharing))
        say("broker: \(report.broker.scheme)://\(report.broker.endpoint) root \(report.root)")
        say(ClusterReport.howToRequest(access: running.access, root: report.root))
        say("Ctrl-C stops the cluster.")
    }
}
