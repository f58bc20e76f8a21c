// swift-tools-version:6.0
import PackageDescription

// Layers depend only downward: C system libraries → MQTTBus / S2M3Core / PlacementPlanning / Inference →
// Catalog / Runtime → services → `s2m3` (docs/architecture.md). Linux only: the code reads /proc.
let package = Package(
    name: "s2m3",
    products: [
        .executable(name: "s2m3", targets: ["s2m3"]),
        .library(name: "S2M3Core", targets: ["S2M3Core"]),
        .library(name: "PlacementPlanning", targets: ["PlacementPlanning"]),
        .library(name: "MQTTBus", targets: ["MQTTBus"]),
        .library(name: "LocalBroker", targets: ["LocalBroker"]),
        .library(name: "Planner", targets: ["Planner"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "Preprocessing", targets: ["Preprocessing"]),
        .library(name: "Catalog", targets: ["Catalog"]),
        .library(name: "Runtime", targets: ["Runtime"]),
        .library(name: "Aggregator", targets: ["Aggregator"]),
        .library(name: "S2M3Client", targets: ["S2M3Client"]),
        .library(name: "DeviceAgent", targets: ["DeviceAgent"]),
        .library(name: "LocalCluster", targets: ["LocalCluster"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // Layer 0: C system libraries, each imported by exactly one Swift target.
        // libmosquitto, and the few OpenSSL calls that make it check a TLS server name (shim.h).
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev", "libssl-dev"])]
        ),
        // ONNX Runtime: scripts/setup.d/10-onnxruntime.sh installs it into /usr/local when missing.
        .systemLibrary(name: "COnnxRuntime", pkgConfig: "libonnxruntime"),
        // JPEG (TurboJPEG API of libjpeg-turbo) and PNG (libpng's simplified API) decoders.
        .systemLibrary(
            name: "CImageCodecs",
            pkgConfig: "libpng",
            providers: [.apt(["libturbojpeg0-dev", "libpng-dev"])]
        ),
        // Layer 1. Topics, messages and the task graph: what every role speaks (pure, no I/O).
        .target(name: "S2M3Core"),
        // Placement: the problem, cost model, solvers and the planner's state machine (pure).
        .target(name: "PlacementPlanning", dependencies: ["S2M3Core"]),
        // Seeded random placement instances for the placement benchmark and tests (not in services).
        .target(name: "PlacementGenerators", dependencies: ["PlacementPlanning", "S2M3Core"]),
        .target(
            name: "MQTTBus",
            dependencies: [
                "CMosquitto", .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Runs a Mosquitto child process from broker-config/ (tests, benchmarks, `s2m3 up`).
        .target(name: "LocalBroker"),
        .target(name: "Inference", dependencies: ["COnnxRuntime"]),
        .target(name: "Preprocessing", dependencies: ["Inference", "CImageCodecs"]),
        // Whisper speech recognition from its modules (front end, encoder, greedy decoder).
        .target(name: "Speech", dependencies: ["Inference", "Preprocessing"]),
        // PP-OCR text reading from its modules (detect, orient, recognise) with DB and CTC post-processing.
        .target(name: "TextReading", dependencies: ["Inference", "Preprocessing"]),
        // Module catalog: manifests, digests, tasks, sharing (docs/catalog.md).
        .target(name: "Catalog", dependencies: ["S2M3Core"]),
        // Runs catalog modules: ONNX drivers, built-in operations and task heads (docs/catalog.md);
        // measures them (memory, cost and interface probes; the devices' compute calibration).
        .target(
            name: "Runtime",
            dependencies: ["S2M3Core", "Catalog", "Inference", "Preprocessing", "Speech", "TextReading"]
        ),
        // What every long-running service shares: one ServiceGroup per process with graceful shutdown
        // on SIGTERM/SIGINT, drain signalled (IdleSignal), blocking work off the cooperative pool.
        .target(
            name: "ServiceSupport",
            dependencies: [
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The Prometheus side of metrics, for executables only: a registry bootstrapped once per
        // process and a small HTTP endpoint serving it (a ServiceLifecycle service; docs/operations.md).
        .target(
            name: "MetricsExport",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // S2M3's messages on the bus: MessageProperties ↔ MQTTProperties, control messages as MQTTMessage.
        .target(name: "S2M3Bus", dependencies: ["S2M3Core", "MQTTBus"]),
        // Layer 2: services.
        .target(
            name: "Planner",
            dependencies: [
                "S2M3Core", "PlacementPlanning", "MQTTBus", "S2M3Bus", "Catalog", "ServiceSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Routes each request's branches to module replicas and merges their partials (topics.md).
        .target(
            name: "Aggregator",
            dependencies: [
                "S2M3Core", "MQTTBus", "S2M3Bus", "Catalog", "ServiceSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Sends a request and awaits its result over a response topic.
        .target(name: "S2M3Client", dependencies: ["S2M3Core", "MQTTBus", "S2M3Bus", .product(name: "Logging", package: "swift-log")]),
        // The device agent: hosts assigned modules and answers invocations (topics.md, device topics).
        .target(
            name: "DeviceAgent",
            dependencies: [
                "S2M3Core", "MQTTBus", "S2M3Bus", "Catalog", "Runtime", "Inference", "ServiceSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // A local cluster (what `s2m3 up` runs): broker, planner, aggregator and devices as child
        // processes of `s2m3`, supervised (crashed children restarted), with a typed ready report.
        .target(
            name: "LocalCluster",
            dependencies: [
                "S2M3Core", "MQTTBus", "S2M3Bus", "LocalBroker", "Catalog", "Planner",
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Layer 3.
        .executableTarget(
            name: "s2m3",
            dependencies: [
                "S2M3Core", "PlacementPlanning", "PlacementGenerators", "MQTTBus", "S2M3Bus", "LocalBroker", "Planner", "Catalog", "Runtime",
                "Inference", "Aggregator", "S2M3Client", "ServiceSupport", "MetricsExport", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "DeviceAgent", "LocalCluster", "Preprocessing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The decoders of outside bytes for libFuzzer (scripts/fuzz.sh); a plain build replays files.
        .executableTarget(name: "s2m3-fuzz", dependencies: ["S2M3Core", "Preprocessing", "PlacementPlanning"]),
        // Benchmark of the engine and built-in pre-processing (not a test): swift run -c release engine-bench
        .executableTarget(name: "engine-bench", dependencies: ["Inference", "Preprocessing", "Speech"]),
        // Paths shared by the test targets (repository root, set-up cache).
        // …and a real broker to connect to (TestBroker), bounded waits (within).
        .target(
            name: "TestSupport",
            dependencies: ["LocalBroker", "MQTTBus", "S2M3Core", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),
        // Seeded mutation fuzzing of every decoder of outside bytes (issue 10 item 7; docs/benchmarks.md).
        .testTarget(
            name: "FuzzTests",
            dependencies: ["TestSupport", "S2M3Core", "PlacementPlanning", "PlacementGenerators", "Preprocessing", "Aggregator"]
        ),
        .testTarget(name: "S2M3CoreTests", dependencies: ["S2M3Core", "PlacementGenerators", "TestSupport"]),
        .testTarget(name: "PlacementPlanningTests", dependencies: ["PlacementPlanning", "PlacementGenerators", "S2M3Core", "TestSupport"]),
        .testTarget(
            name: "MQTTBusTests",
            dependencies: ["MQTTBus", "LocalBroker", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "PlannerTests",
            dependencies: [
                "Planner", "PlacementPlanning", "S2M3Core", "MQTTBus", "LocalBroker", "Catalog", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "InferenceTests", dependencies: ["TestSupport", "Inference"]),
        .testTarget(name: "PreprocessingTests", dependencies: ["TestSupport", "Preprocessing", "Inference"]),
        .testTarget(name: "SpeechTests", dependencies: ["TestSupport", "Speech", "Preprocessing", "Inference"]),
        .testTarget(name: "TextReadingTests", dependencies: ["TestSupport", "TextReading", "Preprocessing", "Inference"]),
        .testTarget(
            name: "AggregatorTests",
            dependencies: [
                "Aggregator", "S2M3Client", "Catalog", "S2M3Core", "MQTTBus", "LocalBroker", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "DeviceAgentTests",
            dependencies: [
                "DeviceAgent", "TestSupport", "S2M3Core", "MQTTBus", "S2M3Bus", "LocalBroker", "Catalog", "Runtime", "Inference",
                "Preprocessing", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // End to end: `s2m3 up` as a process and the LocalCluster library, real models (Tests/ClusterTests).
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "TestSupport", "Runtime", "LocalCluster", "Planner", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), "Catalog", "S2M3Core", "S2M3Client", "MQTTBus", "LocalBroker", "Inference",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ServiceSupportTests",
            dependencies: [
                "ServiceSupport", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The repository as a whole: set-up failures as a new user meets them, the dependency rule.
        .testTarget(name: "RepositoryTests", dependencies: ["TestSupport"]),
        .testTarget(
            name: "MetricsExportTests",
            dependencies: [
                "MetricsExport", "ServiceSupport", "TestSupport", .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CatalogTests", dependencies: ["TestSupport", "Catalog", "Runtime", "S2M3Core", "Inference"]),
        .testTarget(name: "RuntimeTests", dependencies: ["TestSupport", "Runtime", "Catalog", "S2M3Core", "Inference", "Preprocessing", "TextReading"]),
    ]
)
