import Testing

@testable import TetherEngine

@Suite("Expression paths and joins")
struct ExpressionPathsTests {
    private func joins(_ source: String) throws -> [String] {
        try Expression(parsing: source).equalityJoins.map { join in
            "async" + join.asyncPath.map(\.description).joined() + " == event"
                + join.eventPath.map(\.description).joined()
        }
    }

    @Test("finds async == event equalities joined by &&")
    func equalityJoins() throws {
        #expect(try joins("async.data.id == event.data.id") == ["async.data.id == event.data.id"])
        #expect(
            try joins("event.data.orderId == async.data.order[\"id\"]") == ["async.data.order.id == event.data.orderId"]
        )
        #expect(
            try joins(
                "event.data.orderId == async.data.orderId && async.data.total > 100 && (event.name == async.name && true)"
            )
                == ["async.data.orderId == event.data.orderId", "async.name == event.name"]
        )
        #expect(try joins("async.data.items[0].sku == event.data.sku") == ["async.data.items[0].sku == event.data.sku"])
        #expect(try joins("async.data.id == event.data.id || true") == [])
        #expect(try joins("!(async.x == event.y)") == [])
        #expect(try joins("async.x == async.y") == [])
        #expect(try joins("async.x == 1 && event.y == 2") == [])
        #expect(try joins("async.x == event.y == true") == [])
        #expect(try joins("async.x != event.y") == [])
        #expect(try joins("(async.x == event.y || false) && async.z == event.z") == ["async.z == event.z"])
    }

    @Test("lists the distinct paths under a root in order")
    func paths() throws {
        let expression = try Expression(
            parsing:
                "event.data.id == async.data.id && event.name != '' && (event.data.id + 1 > -event.data['n'][2] || !event)"
        )
        #expect(
            expression.paths(root: .event) == [
                [.key("data"), .key("id")], [.key("name")], [.key("data"), .key("n"), .index(2)], [],
            ]
        )
        #expect(expression.paths(root: .async) == [[.key("data"), .key("id")]])
        #expect(try Expression(parsing: "1 + 2").paths(root: .event).isEmpty)
    }

    @Test("resolves a path alone")
    func resolve() {
        let value: JSONValue = ["a": ["b": [10, ["c": "deep"]]]]
        #expect(Expression.resolve([], in: value) == value)
        #expect(Expression.resolve([.key("a"), .key("b"), .index(1), .key("c")], in: value) == "deep")
        #expect(Expression.resolve([.key("a"), .key("b"), .index(2)], in: value) == .null)
        #expect(Expression.resolve([.key("a"), .index(0)], in: value) == .null)
        #expect(Expression.resolve([.key("a"), .key("b"), .key("0")], in: value) == .null)
        #expect(Expression.resolve([.index(-1)], in: [1, 2]) == .null)
    }

    @Test("prints path components as written")
    func componentDescriptions() {
        #expect(PathComponent.key("customerId").description == ".customerId")
        #expect(PathComponent.key("weird key").description == #"["weird key"]"#)
        #expect(PathComponent.key("").description == #"[""]"#)
        #expect(PathComponent.key("9lives").description == #"["9lives"]"#)
        #expect(PathComponent.index(3).description == "[3]")
    }
}
