import Testing
import TetherEngine
import TetherTestSupport

/// The validator the OpenAPI tests rely on must reject wrong documents, or those tests prove nothing.
@Suite("JSONSchemaValidator (test support)")
struct JSONSchemaValidatorTests {
    static let root: JSONValue = [
        "components": [
            "schemas": [
                "Pet": [
                    "type": "object", "additionalProperties": false, "required": ["name", "kind"],
                    "properties": [
                        "name": ["type": "string", "minLength": 1],
                        "kind": ["$ref": "#/components/schemas/Kind"],
                        "age": ["type": ["integer", "null"], "minimum": 0],
                        "tags": ["type": "array", "items": ["type": "string"], "maxItems": 2],
                    ],
                ],
                "Kind": ["type": "string", "enum": ["cat", "dog"]],
                "a/b": ["type": "boolean"],
            ]
        ]
    ]
    static let validator = JSONSchemaValidator(root: root)
    static let pet: JSONValue = ["$ref": "#/components/schemas/Pet"]

    static func problems(_ value: JSONValue, _ schema: JSONValue = pet) -> [String] {
        validator.problems(value, against: schema)
    }

    @Test("a valid value has no problems, null included where the type array allows it")
    func accepts() {
        #expect(Self.problems(["name": "Rex", "kind": "dog"]) == [])
        #expect(Self.problems(["name": "Tom", "kind": "cat", "age": .null, "tags": ["a", "b"]]) == [])
        #expect(Self.problems(["name": "Tom", "kind": "cat", "age": 3]) == [])
        #expect(Self.problems(.int(3), ["type": "number"]) == [])
        #expect(Self.problems(.double(3.0), ["type": "integer"]) == [])
        #expect(Self.problems("anything", [:]) == [])
        #expect(Self.problems(true, ["$ref": "#/components/schemas/a~1b"]) == [])
    }

    @Test("wrong types are rejected, integer included")
    func types() {
        #expect(Self.problems(["name": 7, "kind": "dog"]) == ["$.name: expected string, got number"])
        #expect(
            Self.problems(["name": "Tom", "kind": "cat", "age": 1.5]) == ["$.age: expected integer or null, got number"]
        )
        #expect(Self.problems(.null, ["type": "string"]) == ["$: expected string, got null"])
        #expect(Self.problems(["x"], ["type": "object"]) == ["$: expected object, got array"])
        #expect(!Self.problems(.int(1), false).isEmpty, "the schema `false` allows nothing")
    }

    @Test("missing required and extra properties are rejected")
    func objects() {
        #expect(Self.problems(["name": "Rex"]) == ["$: missing required property 'kind'"])
        #expect(
            Self.problems(["name": "Rex", "kind": "dog", "color": "red"]) == ["$: property 'color' is not allowed"])
        let typedExtras: JSONValue = ["type": "object", "additionalProperties": ["type": "integer"]]
        #expect(Self.problems(["a": 1], typedExtras) == [])
        #expect(Self.problems(["a": "1"], typedExtras) == ["$.a: expected integer, got string"])
    }

    @Test("enum, const, bounds and lengths are enforced")
    func values() {
        #expect(Self.problems(["name": "Rex", "kind": "cow"]) == [#"$.kind: "cow" is not one of ["cat","dog"]"#])
        #expect(Self.problems(["name": "", "kind": "dog"]) == ["$.name: shorter than 1 characters"])
        #expect(Self.problems(["name": "Rex", "kind": "dog", "age": -1]) == ["$.age: -1 is less than 0.0"])
        #expect(Self.problems(.int(11), ["maximum": 10]) == ["$: 11 is more than 10.0"])
        #expect(Self.problems("ab", ["maxLength": 1]) == ["$: longer than 1 characters"])
        #expect(Self.problems("b", ["const": "a"]) == [#"$: "b" is not "a""#])
    }

    @Test("array items and sizes are checked")
    func arrays() {
        #expect(
            Self.problems(["name": "Rex", "kind": "dog", "tags": ["a", 1]]) == [
                "$.tags[1]: expected string, got number"
            ])
        #expect(
            Self.problems(["name": "Rex", "kind": "dog", "tags": ["a", "b", "c"]]) == ["$.tags: 3 items, more than 2"])
        #expect(Self.problems([], ["type": "array", "minItems": 1]) == ["$: 0 items, fewer than 1"])
    }

    @Test("oneOf needs exactly one match, anyOf at least one, allOf all")
    func combinations() {
        let oneOf: JSONValue = ["oneOf": [["type": "integer"], ["type": "number"]]]
        #expect(Self.problems(1.5, oneOf) == [])
        #expect(Self.problems(1, oneOf) == ["$: matches 2 schemas of oneOf, not exactly one"])
        #expect(Self.problems("x", oneOf).count == 1)
        let anyOf: JSONValue = ["anyOf": [["type": "integer"], ["type": "null"]]]
        #expect(Self.problems(.null, anyOf) == [])
        #expect(Self.problems("x", anyOf).first?.hasPrefix("$: matches none of anyOf") == true)
        let allOf: JSONValue = ["allOf": [["type": "integer"], ["minimum": 5]]]
        #expect(Self.problems(7, allOf) == [])
        #expect(Self.problems(3, allOf) == ["$: 3 is less than 5.0"])
    }

    @Test("a $ref applies with the keywords beside it; an unresolvable one is a problem")
    func references() {
        let narrowed: JSONValue = ["$ref": "#/components/schemas/Pet", "properties": ["kind": ["enum": ["cat"]]]]
        #expect(Self.problems(["name": "Tom", "kind": "cat"], narrowed) == [])
        #expect(Self.problems(["name": "Rex", "kind": "dog"], narrowed) == [#"$.kind: "dog" is not one of ["cat"]"#])
        #expect(
            Self.problems(1, ["$ref": "#/components/schemas/Nope"]) == [
                ##"$: cannot resolve $ref "#/components/schemas/Nope""##
            ])
        let cycle = JSONSchemaValidator(root: ["a": ["$ref": "#/a"]])
        #expect(!cycle.problems(1, against: ["$ref": "#/a"]).isEmpty)
    }

    @Test("pattern: the event-name pattern of the document refuses whitespace, control characters and '*'")
    func pattern() {
        let name: JSONValue = ["type": "string", "pattern": #"^[^\s\u0000-\u001f\u007f\u0085*]+$"#]
        #expect(Self.problems("order/created", name) == [])
        #expect(Self.problems("größe/ändern", name) == [])
        for bad in ["Process an order", "a\u{0}b", "tab\there", "nbsp\u{a0}x", "next\u{85}line", "all/*", ""] {
            #expect(Self.problems(.string(bad), name).count == 1, "\(bad.debugDescription)")
        }
        #expect(Self.problems("abc", ["type": "string", "pattern": "^z"]) == ["$: does not match ^z"])
        #expect(Self.problems("abc", ["type": "string", "pattern": "("]).first?.contains("does not compile") == true)
    }

    @Test("keywords it does not check are reported, annotations are not")
    func unsupportedKeywords() {
        #expect(
            Self.problems("abc", ["type": "string", "patternProperties": ["^z": true]]) == [
                "$: unsupported schema keyword 'patternProperties'"
            ])
        #expect(Self.problems(1, ["nullable": true]) == ["$: unsupported schema keyword 'nullable'"])
        #expect(Self.problems("x", ["type": "string", "description": "d", "format": "date-time", "x-note": 1]) == [])
    }
}
