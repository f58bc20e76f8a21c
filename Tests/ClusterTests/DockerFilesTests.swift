import Foundation
import TestSupport
import Testing

/// docker/: the compose file renders with each profile, the Dockerfile passes hadolint, and the
/// settings docker/README.md states hold. No Docker engine runs here; nothing is built or started.
@Suite("docker/ files")
struct DockerFilesTests {
    static let devServices: Set = ["setup", "broker", "planner", "agg-1", "box-1", "box-2", "box-3"]
    static let secureServices: Set = ["setup", "broker-secure", "planner-secure", "agg-1-secure", "box-1-secure", "box-2-secure", "box-3-secure"]
    /// docker/README.md: a device container may use its --memory budget plus this much.
    static let deviceMargin = 256 * 1024 * 1024

    @Test("docker-compose config accepts compose.yaml with the default profile and with the secure one", arguments: [nil, "secure"])
    func configRenders(profile: String?) async throws {
        let rendered = try await ComposeFile.render(profile: profile)
        #expect(rendered.status == 0, "docker-compose config: \(rendered.errors)")
        #expect(rendered.output.contains("services:"))
    }

    @Test("each profile enables the broker, the planner, one aggregator and three devices, plus the set-up")
    func profilesEnableTheCluster() async throws {
        let compose = try await ComposeFile.load()
        let byDefault = try ComposeFile.defaultProfiles()
        #expect(Set(compose.services.values.filter { $0.isEnabled(profiles: byDefault) }.map(\.name)) == Self.devServices)
        #expect(Set(compose.services.values.filter { $0.isEnabled(profiles: ["secure"]) }.map(\.name)) == Self.secureServices)
    }

    @Test("every long-running service restarts, has a health check and a memory limit without swap")
    func servicesAreSupervised() async throws {
        let compose = try await ComposeFile.load()
        for service in compose.services.values where service.name != "setup" {
            #expect(service.restart == "unless-stopped", "\(service.name)")
            #expect(!service.healthcheck.isEmpty, "\(service.name) has no health check")
            #expect(service.memLimit != nil && service.memLimit == service.memswapLimit, "\(service.name)")
        }
        #expect(compose.services["setup"]?.restart == "no")
    }

    @Test("each device's memory limit is its --memory budget plus the documented margin")
    func deviceLimitsFollowBudgets() async throws {
        let compose = try await ComposeFile.load()
        let devices = compose.services.values.filter { $0.command.first == "device" }
        #expect(devices.count == 6)
        for device in devices {
            let budget = try #require(device.command.firstIndex(of: "--memory").map { device.command[$0 + 1] })
            let limit = try Self.bytes(try #require(device.memLimit))
            #expect(limit == (try Self.bytes(budget)) + Self.deviceMargin, "\(device.name): mem_limit \(device.memLimit ?? "-") for --memory \(budget)")
        }
    }

    @Test("the secure profile's services log in with TLS, their own identity and its password file")
    func secureServicesUseCredentials() async throws {
        let compose = try await ComposeFile.load(profile: "secure")
        for service in compose.services.values where service.name.hasSuffix("-secure") && service.name != "broker-secure" {
            let command = service.command
            func value(_ flag: String) -> String? { command.firstIndex(of: flag).map { command[$0 + 1] } }
            let role = String(service.name.dropLast("-secure".count))
            #expect(value("--broker") == "broker-secure:8883", "\(service.name)")
            #expect(value("--tls-ca") == "/run/secrets/ca.crt" && service.secrets.contains("ca.crt"), "\(service.name)")
            #expect(value("--tls-server-name") == "broker-secure", "\(service.name)")
            #expect(value("--username") == role, "\(service.name)")
            #expect(value("--password-file") == "/run/secrets/\(role)-password" && service.secrets.contains("\(role)-password"), "\(service.name)")
        }
    }

    @Test("hadolint finds nothing in docker/Dockerfile")
    func dockerfileLints() async throws {
        let cacheTools = TestPaths.cache.appendingPathComponent("tools").path
        let hadolint = try Tool.find("hadolint", alsoIn: [cacheTools])
        let result = try await Tool.run(
            hadolint, ["--no-color", "--failure-threshold", "warning", TestPaths.repository.appendingPathComponent("docker/Dockerfile").path])
        #expect(result.status == 0, "hadolint:\n\(result.output)\(result.errors)")
    }

    @Test("broker-config/compose-dev.conf is dev.conf with the listener on every interface")
    func composeBrokerConfigFollowsDev() throws {
        func settings(_ name: String) throws -> [String] {
            try String(contentsOfFile: TestPaths.brokerConfig(name), encoding: .utf8).split(separator: "\n")
                .map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
        }
        let dev = try settings("dev.conf"), compose = try settings("compose-dev.conf")
        #expect(dev.contains("listener 1883 127.0.0.1"))
        #expect(compose == dev.map { $0 == "listener 1883 127.0.0.1" ? "listener 1883" : $0 })
    }

    @Test("every S2M3 service serves metrics on 9400, and docker/prometheus.yml scrapes exactly those services")
    func metricsAreScraped() async throws {
        var expected: Set<String> = []
        for profile in [nil, "secure"] {
            let compose = try await ComposeFile.load(profile: profile)
            for service in compose.services.values where ["planner", "aggregator", "device"].contains(service.command.first ?? "") {
                let port = service.command.firstIndex(of: "--metrics-port").map { service.command[$0 + 1] }
                #expect(port == "9400", "\(service.name): --metrics-port \(port ?? "missing")")
                expected.insert("\(service.name):9400")
            }
        }
        #expect(expected.count == 10)
        let config = try String(contentsOf: TestPaths.repository.appendingPathComponent("docker/prometheus.yml"), encoding: .utf8)
        var targets: Set<String> = []
        for line in config.split(separator: "\n") where line.contains("targets:") {
            for piece in line.split(separator: "\"") where piece.contains(":9400") { targets.insert(String(piece)) }
        }
        #expect(targets == expected)
    }

    @Test("the monitoring profile runs Prometheus with docker/prometheus.yml and Grafana with the dashboard, on loopback")
    func monitoringProfile() async throws {
        let compose = try await ComposeFile.load(profile: "monitoring")
        let prometheus = try #require(compose.services["prometheus"])
        let grafana = try #require(compose.services["grafana"])
        #expect(prometheus.profiles == ["monitoring"] && grafana.profiles == ["monitoring"])
        #expect(prometheus.mountSource(of: "/etc/prometheus/prometheus.yml")?.hasSuffix("docker/prometheus.yml") == true)
        #expect(grafana.mountSource(of: "/var/lib/grafana/dashboards/s2m3.json")?.hasSuffix("docker/grafana-dashboard.json") == true)
        #expect(prometheus.command.contains("--config.file=/etc/prometheus/prometheus.yml"))
    }

    @Test("docker/grafana-dashboard.json uses only documented metrics, through the provisioned data source")
    func dashboardUsesDocumentedMetrics() throws {
        let data = try Data(contentsOf: TestPaths.repository.appendingPathComponent("docker/grafana-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 10)
        let operations = try String(contentsOf: TestPaths.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let provisioning = try String(contentsOf: TestPaths.repository.appendingPathComponent("docker/grafana-provisioning.yml"), encoding: .utf8)
        var used: Set<String> = []
        for panel in panels {
            let source = try #require(panel["datasource"] as? [String: String])
            #expect(provisioning.contains("uid: \(source["uid"] ?? "-")"), "panel \(panel["title"] ?? "")")
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                let expr = try #require(target["expr"] as? String)
                for match in expr.matches(of: /s2m3_[a-z_]+/) { used.insert(String(match.output)) }
            }
        }
        #expect(used.count >= 15)
        for name in used {
            let base = name.replacing(/_(bucket|sum|count)$/, with: "")
            #expect(operations.contains("`\(base)`"), "\(name) is not documented in docs/operations.md")
        }
    }

    /// `300MiB`, `512m`, `1GiB`, `1g`, bytes.
    static func bytes(_ text: String) throws -> Int {
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let number = Int(text.dropLast(suffix.count)) { return number * factor }
        }
        guard let plain = Int(text) else { throw ClusterTestError("'\(text)' is not a size") }
        return plain
    }
}
