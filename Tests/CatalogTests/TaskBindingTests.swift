import Catalog
import S2M3Core
import Testing

/// ``TaskBinding``'s data flow on a small catalog of built-in declarations (no files, no models).
@Suite("TaskBinding: inputs, positional arguments, defaults and results")
struct TaskBindingTests {
    static func tensor(_ name: String, _ dtype: String, _ shape: [Dimension] = [.symbol("N")]) -> TensorDeclaration {
        TensorDeclaration(name: name, dtype: dtype, shape: shape)
    }

    /// `rank` (texts → labels + scores), `pick` (names, values, extra → choice), `embed` (text → vector).
    static func binding(defaults: [String: TaskInput]? = nil) throws -> TaskBinding {
        let modules = [
            ModuleEntry(id: "rank", kind: .builtin, operation: "combine", inputs: [tensor("texts", "string")],
                        outputs: [tensor("labels", "string"), tensor("scores", "float32")]),
            ModuleEntry(id: "pick", kind: .builtin, operation: "combine",
                        inputs: [tensor("names", "string"), tensor("values", "float32"), tensor("extra", "string")],
                        outputs: [tensor("choice", "string", [.fixed(1)])]),
            ModuleEntry(id: "embed", kind: .builtin, operation: "combine", inputs: [tensor("text", "string")], outputs: [tensor("vector", "float32")]),
        ]
        let task = TaskEntry(
            id: "demo", inputs: ["texts", "query"],
            nodes: [
                .init(id: "ranked", module: "rank", inputs: ["texts"]),
                .init(id: "picked", module: "pick", inputs: ["ranked", "texts"]),
                .init(id: "vector", module: "embed", inputs: ["query"]),
            ],
            outputs: ["ranked", "picked", "vector"], defaults: defaults)
        let catalog = try ModuleCatalog(document: CatalogDocument(modules: modules, tasks: [task]), modelsDirectory: "/nonexistent")
        return try TaskBinding(task: catalog.tasks[0], catalog: catalog)
    }

    static func request() throws -> TensorBundle {
        try TaskRequest(inputs: ["texts": .texts(["a", "b"]), "query": .text("hello")]).bundle()
    }

    @Test("arguments bind by position to the module's call inputs and keep their content-type markers")
    func positionalRenaming() throws {
        let binding = try Self.binding()
        var values = try binding.inputValues(Self.request())
        var ranked = TensorBundle()
        try ranked.setTexts(["b", "a"], named: "labels")
        try ranked.set(BundleTensor(floats: [0.9, 0.1]), named: "scores")
        values["ranked"] = ranked
        let arguments = try binding.arguments(of: #require(binding.node("picked")), values: values)
        #expect(arguments.names == ["extra", "names", "values"])
        #expect(arguments.contentType(of: "names") == TensorBundle.textListContentType)
        #expect(try arguments.texts("names") == ["b", "a"])
        #expect(arguments.contentType(of: "values") == nil)
        #expect(try arguments["values"]?.floats() == [0.9, 0.1])
        #expect(arguments.contentType(of: "extra") == TensorBundle.textListContentType)
        #expect(try arguments.texts("extra") == ["a", "b"])
        let query = try binding.arguments(of: #require(binding.node("vector")), values: values)
        #expect(query.contentType(of: "text") == TensorBundle.textContentType)
        #expect(try query.text("text") == "hello")
    }

    @Test("ready nodes follow the values present")
    func readyNodes() throws {
        let binding = try Self.binding()
        #expect(binding.readyNodes(available: ["texts", "query"], started: []).map(\.id).sorted() == ["ranked", "vector"])
        #expect(binding.readyNodes(available: ["texts", "query", "ranked"], started: ["ranked", "vector"]).map(\.id) == ["picked"])
    }

    @Test("a missing input is a missingInput error naming it; a default fills it")
    func missingInputAndDefault() throws {
        let bare = try TaskRequest(inputs: ["query": .text("hello")]).bundle()
        let binding = try Self.binding()
        do {
            _ = try binding.inputValues(bare)
            Issue.record("no error for a missing input")
        } catch {
            #expect(error.code == .missingInput && error.field == "texts", "\(error)")
        }
        let values = try Self.binding(defaults: ["texts": .texts(["x", "y", "z"])]).inputValues(bare)
        #expect(try values["texts"]?.texts("texts") == ["x", "y", "z"])
        #expect(values["texts"]?.contentType(of: "texts") == TensorBundle.textListContentType)
        let own = try Self.binding(defaults: ["texts": .texts(["x"])]).inputValues(Self.request())
        #expect(try own["texts"]?.texts("texts") == ["a", "b"])
    }

    @Test("a default for an undeclared input is a catalog error")
    func defaultMustBeAnInput() throws {
        let task = TaskEntry(
            id: "t", inputs: ["a"], nodes: [.init(id: "n", module: "m", inputs: ["a"])], defaults: ["b": .text("x")])
        let module = ModuleEntry(id: "m", kind: .builtin, operation: "combine", inputs: [Self.tensor("x", "string")], outputs: [Self.tensor("y", "string")])
        #expect(throws: CatalogError.self) {
            try ModuleCatalog(document: CatalogDocument(modules: [module], tasks: [task]), modelsDirectory: "/nonexistent")
        }
    }

    @Test("results: labels + scores become labels in the module's order; one text is text; numbers an embedding")
    func resultConversion() throws {
        let binding = try Self.binding()
        var ranked = TensorBundle(), picked = TensorBundle(), vector = TensorBundle()
        try ranked.setTexts(["b", "a"], named: "labels")
        try ranked.set(BundleTensor(floats: [0.75, 0.25]), named: "scores")
        try picked.setText("b", named: "choice")
        try vector.set(BundleTensor(floats: [1, 2, 3]), named: "vector")
        let outputs = try binding.result(values: ["ranked": ranked, "picked": picked, "vector": vector])
        #expect(outputs["ranked"] == .labels([.init(label: "b", score: 0.75), .init(label: "a", score: 0.25)]))
        #expect(outputs["picked"] == .text("b"))
        #expect(outputs["vector"] == .embedding([1, 2, 3]))
        do {
            _ = try binding.result(values: ["ranked": ranked])
            Issue.record("no error for a missing output value")
        } catch {
            #expect(error.code == .missingValue)
        }
    }
}
