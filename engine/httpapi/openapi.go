package httpapi

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"pgtenant/engine/query"
	"pgtenant/schema"
)

// The OpenAPI 3.0 document of GET {base}/: the tables the caller's role can
// reach and exactly the operations its privileges allow.

type oaDoc struct {
	OpenAPI    string                `json:"openapi"`
	Info       oaInfo                `json:"info"`
	Servers    []oaServer            `json:"servers"`
	Paths      map[string]oaPathItem `json:"paths"`
	Components oaComponents          `json:"components"`
	Security   []map[string][]string `json:"security"`
}

type oaInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

type oaServer struct {
	URL string `json:"url"`
}

type oaPathItem map[string]*oaOperation

type oaOperation struct {
	Summary     string                `json:"summary"`
	OperationID string                `json:"operationId"`
	Tags        []string              `json:"tags"`
	Parameters  []oaRef               `json:"parameters,omitempty"`
	RequestBody *oaRequestBody        `json:"requestBody,omitempty"`
	Responses   map[string]oaResponse `json:"responses"`
}

type oaRef struct {
	Ref string `json:"$ref,omitempty"`
}

type oaRequestBody struct {
	Required bool                   `json:"required"`
	Content  map[string]oaMediaType `json:"content"`
}

type oaMediaType struct {
	Schema *oaSchema `json:"schema"`
}

type oaResponse struct {
	Description string                 `json:"description"`
	Content     map[string]oaMediaType `json:"content,omitempty"`
}

type oaSchema struct {
	Ref         string               `json:"$ref,omitempty"`
	Type        string               `json:"type,omitempty"`
	Format      string               `json:"format,omitempty"`
	MaxLength   *int                 `json:"maxLength,omitempty"`
	Nullable    bool                 `json:"nullable,omitempty"`
	ReadOnly    bool                 `json:"readOnly,omitempty"`
	Description string               `json:"description,omitempty"`
	Items       *oaSchema            `json:"items,omitempty"`
	Properties  map[string]*oaSchema `json:"properties,omitempty"`
	Required    []string             `json:"required,omitempty"`
	OneOf       []*oaSchema          `json:"oneOf,omitempty"`
	// Relationships are the embeds a table's rows may carry (select=*,target(*)), for a role that may read.
	Relationships []oaRelationship `json:"x-relationships,omitempty"`
}

// oaRelationship is one relationship a table's select may embed, as PostgREST's PGRST201 details name it.
type oaRelationship struct {
	// Embed is the select item that picks this relationship alone, e.g. webpages_pagetheme!webpages_webpage_theme_id_fkey.
	Embed       string   `json:"embed"`
	Table       string   `json:"table"`       // the embedded table
	Cardinality string   `json:"cardinality"` // many-to-one, one-to-many, one-to-one, many-to-many
	Columns     []string `json:"columns"`     // this table's columns of the join
	// TargetColumns are the embedded table's columns of the join (for many-to-many: through Junction).
	TargetColumns []string `json:"target_columns"`
	Junction      string   `json:"junction,omitempty"` // the table between, for many-to-many
	Constraint    string   `json:"constraint"`         // the foreign key
}

type oaParameter struct {
	Name        string    `json:"name"`
	In          string    `json:"in"`
	Description string    `json:"description"`
	Required    bool      `json:"required"`
	Schema      *oaSchema `json:"schema"`
}

type oaComponents struct {
	Schemas         map[string]*oaSchema      `json:"schemas"`
	Parameters      map[string]oaParameter    `json:"parameters"`
	Responses       map[string]oaResponse     `json:"responses"`
	SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
}

var varcharRE = regexp.MustCompile(`^(?:varchar|character varying)\((\d+)\)$`)

// columnSchema describes a column type as JSON Schema, as PostgreSQL's JSON
// output renders it.
func columnSchema(c *schema.Column) *oaSchema {
	s := &oaSchema{Nullable: c.Null, Description: c.Comment}
	switch t := c.Type; {
	case t == "uuid":
		s.Type, s.Format = "string", "uuid"
	case t == "boolean":
		s.Type = "boolean"
	case t == "smallint" || t == "integer":
		s.Type, s.Format = "integer", "int32"
	case t == "bigint":
		s.Type, s.Format = "integer", "int64"
	case t == "real" || t == "double precision" || t == "numeric" || strings.HasPrefix(t, "numeric("):
		s.Type = "number"
	case t == "timestamptz" || t == "timestamp with time zone" || t == "timestamp" || t == "timestamp without time zone":
		s.Type, s.Format = "string", "date-time"
	case t == "date":
		s.Type, s.Format = "string", "date"
	case t == "json" || t == "jsonb":
		// any JSON value: no type
	case len(t) > 2 && t[len(t)-2:] == "[]":
		s.Type, s.Items = "array", &oaSchema{}
	default:
		s.Type = "string"
		if m := varcharRE.FindStringSubmatch(t); m != nil {
			n, _ := strconv.Atoi(m[1])
			s.MaxLength = &n
		}
	}
	return s
}

// openAPI builds the document for role.
func (s *Server) openAPI(sv *served, role *schema.Role) oaDoc {
	m := sv.model
	doc := oaDoc{
		OpenAPI: "3.0.3",
		Info: oaInfo{Title: "pgtenant API", Version: "1",
			Description: "Tenant-scoped tables, views and functions. Every request needs Authorization: Token <token> and the " +
				s.tenancy.Header + " header; rows of other tenants are invisible."},
		Servers:  []oaServer{{URL: s.cfg.BasePath}},
		Paths:    map[string]oaPathItem{},
		Security: []map[string][]string{{"token": {}}},
		Components: oaComponents{
			Schemas:    map[string]*oaSchema{},
			Parameters: commonParameters(s.tenancy.Header),
			Responses: map[string]oaResponse{"error": {Description: "An error", Content: map[string]oaMediaType{
				"application/json": {Schema: &oaSchema{Type: "object", Properties: map[string]*oaSchema{
					"code": {Type: "string"}, "message": {Type: "string"},
					"details": {Type: "string", Nullable: true}, "hint": {Type: "string", Nullable: true}},
					Required: []string{"code", "message", "details", "hint"}}}}}},
			SecuritySchemes: map[string]map[string]any{"token": {"type": "apiKey", "in": "header", "name": "Authorization",
				"description": "Token <token>, as printed by `pgtenant token create`"}},
		},
	}
	for _, t := range m.Tables {
		doc.Components.Schemas[t.Name] = tableSchema(m, t)
		if role.Has(schema.Select) {
			// Privileges are the role's on every table: one that may read this table may read those it embeds.
			describeRelationships(doc.Components.Schemas[t.Name], t, sv.rels)
		}
		item := oaPathItem{}
		rows := rowsSchema(t.Name)
		if role.Has(schema.Select) {
			item["get"] = readOperation(t.Name, "Read "+t.Name)
		}
		if !t.Shared {
			body := &oaRequestBody{Required: true, Content: map[string]oaMediaType{"application/json": {Schema: &oaSchema{
				OneOf: []*oaSchema{{Ref: "#/components/schemas/" + t.Name}, rows}}}}}
			write := []oaRef{{"#/components/parameters/tenant"}, {"#/components/parameters/prefer"}}
			if role.Has(schema.Insert) {
				item["post"] = &oaOperation{Summary: "Insert into " + t.Name, OperationID: "post_" + t.Name,
					Tags: []string{t.Name}, Parameters: append(write, oaRef{"#/components/parameters/columns"},
						oaRef{"#/components/parameters/on_conflict"}), RequestBody: body,
					Responses: map[string]oaResponse{"201": {Description: "Created"}, "200": {Description: "Upserted"},
						"default": errRef}}
			}
			if role.Has(schema.Update) {
				item["patch"] = &oaOperation{Summary: "Update rows of " + t.Name + " (a filter is required)",
					OperationID: "patch_" + t.Name, Tags: []string{t.Name}, Parameters: write,
					RequestBody: &oaRequestBody{Required: true, Content: map[string]oaMediaType{
						"application/json": {Schema: &oaSchema{Ref: "#/components/schemas/" + t.Name}}}},
					Responses: map[string]oaResponse{"204": {Description: "Updated"}, "200": {Description: "Updated rows"},
						"default": errRef}}
			}
			if role.Has(schema.Delete) {
				item["delete"] = &oaOperation{Summary: "Delete rows of " + t.Name + " (a filter is required)",
					OperationID: "delete_" + t.Name, Tags: []string{t.Name}, Parameters: write,
					Responses: map[string]oaResponse{"204": {Description: "Deleted"}, "200": {Description: "Deleted rows"},
						"default": errRef}}
			}
		}
		if len(item) > 0 {
			doc.Paths["/"+t.Name] = item
		}
	}
	s.openAPIRoutines(&doc, sv, role)
	return doc
}

// errRef is every operation's default response.
var errRef = oaResponse{Description: "See the error body"}

// readParams are the parameters of a read: of a table's or view's GET, and after the tenant those of a GET on a
// function that returns rows.
var readParams = []oaRef{{"#/components/parameters/tenant"}, {"#/components/parameters/select"},
	{"#/components/parameters/order"}, {"#/components/parameters/limit"}, {"#/components/parameters/offset"},
	{"#/components/parameters/prefer"}}

// rowsSchema is an array of the rows of the table or view name.
func rowsSchema(name string) *oaSchema {
	return &oaSchema{Type: "array", Items: &oaSchema{Ref: "#/components/schemas/" + name}}
}

// readOperation is the GET of the table or view name.
func readOperation(name, summary string) *oaOperation {
	return &oaOperation{Summary: summary, OperationID: "get_" + name, Tags: []string{name}, Parameters: readParams,
		Responses: map[string]oaResponse{
			"200": {Description: "The rows", Content: map[string]oaMediaType{"application/json": {Schema: rowsSchema(name)}}},
			"206": {Description: "A partial page of the rows"}, "default": errRef}}
}

// may reports whether role is among to, the grantees of a view's SELECT or a function's EXECUTE.
func may(to []string, role *schema.Role) bool {
	return slices.Contains(to, role.Name) || slices.Contains(to, "PUBLIC")
}

// openAPIRoutines documents the views role may read (GET, like a table's) and the functions it may execute
// (POST {base}/rpc/<name> with a JSON object of the arguments; GET with them in the query string when the function
// is STABLE or IMMUTABLE).
func (s *Server) openAPIRoutines(doc *oaDoc, sv *served, role *schema.Role) {
	m := sv.model
	for _, v := range m.Views {
		if !may(v.To, role) {
			continue
		}
		t := viewTable(v)
		doc.Components.Schemas[v.Name] = tableSchema(m, t)
		describeRelationships(doc.Components.Schemas[v.Name], t, sv.rels)
		doc.Paths["/"+v.Name] = oaPathItem{"get": readOperation(v.Name, "Read the view "+v.Name+" (read-only)")}
	}
	for _, f := range m.Functions {
		if !may(f.To, role) {
			continue
		}
		args := &oaSchema{Type: "object", Properties: map[string]*oaSchema{}}
		var params []oaRef
		for _, a := range f.Args {
			args.Properties[a.Name] = columnSchema(&schema.Column{Name: a.Name, Type: a.Type})
			if a.Default == "" {
				args.Required = append(args.Required, a.Name)
			}
			key := "rpc." + f.Name + "." + a.Name
			doc.Components.Parameters[key] = oaParameter{Name: a.Name, In: "query", Required: a.Default == "",
				Schema: columnSchema(&schema.Column{Name: a.Name, Type: a.Type}), Description: "Argument " + a.Name + " (" + a.Type + ")"}
			params = append(params, oaRef{"#/components/parameters/" + key})
		}
		result := returnsSchema(f)
		ok := map[string]oaResponse{"200": {Description: "The result", Content: map[string]oaMediaType{
			"application/json": {Schema: result}}}, "default": errRef}
		if f.Returns.Void {
			ok = map[string]oaResponse{"204": {Description: "Done"}, "default": errRef}
		}
		summary := f.Comment
		if summary == "" {
			summary = "Call " + f.Name
		}
		item := oaPathItem{"post": &oaOperation{Summary: summary, OperationID: "rpc_" + f.Name, Tags: []string{"rpc"},
			Parameters:  []oaRef{{"#/components/parameters/tenant"}, {"#/components/parameters/prefer"}},
			RequestBody: &oaRequestBody{Required: len(args.Required) > 0, Content: map[string]oaMediaType{"application/json": {Schema: args}}},
			Responses:   ok}}
		if f.Volatility != schema.Volatile {
			get := append([]oaRef{{"#/components/parameters/tenant"}}, params...)
			if f.Returns.Relation != "" {
				get = append(get, readParams[1:]...)
			}
			item["get"] = &oaOperation{Summary: summary + " (" + string(f.Volatility) + ": read-only)",
				OperationID: "rpc_get_" + f.Name, Tags: []string{"rpc"}, Parameters: get, Responses: ok}
		}
		doc.Paths["/rpc/"+f.Name] = item
	}
}

// returnsSchema describes what a function returns: rows of a table or view (an array of them for a set, one object
// otherwise), or a value of its type.
func returnsSchema(f *schema.Function) *oaSchema {
	var one *oaSchema
	switch {
	case f.Returns.Void:
		return nil
	case f.Returns.Relation != "":
		one = &oaSchema{Ref: "#/components/schemas/" + f.Returns.Relation}
	default:
		one = columnSchema(&schema.Column{Type: f.Returns.Type, Null: true})
	}
	if f.Returns.SetOf {
		return &oaSchema{Type: "array", Items: one}
	}
	return one
}

func tableSchema(m *schema.Model, t *schema.Table) *oaSchema {
	out := &oaSchema{Type: "object", Description: t.Comment, Properties: map[string]*oaSchema{}}
	if !t.Shared {
		out.Properties[m.Tenancy.Column] = &oaSchema{Type: "string", Format: "uuid", ReadOnly: true,
			Description: "The tenant owning the row; set by the server from the tenant header."}
	}
	for _, c := range t.Columns {
		out.Properties[c.Name] = columnSchema(c)
		if !c.Null && c.Default == "" {
			out.Required = append(out.Required, c.Name)
		}
	}
	return out
}

// describeRelationships adds to a table's schema what its select may embed: the relationships from it
// (x-relationships) and, on each column of a single-column foreign key, PostgREST's note naming the referenced
// column.
func describeRelationships(out *oaSchema, t *schema.Table, rels []query.Relationship) {
	for _, r := range rels {
		if r.Table != t.Name {
			continue
		}
		rel := oaRelationship{Embed: embedSpelling(r), Table: r.Target, Cardinality: string(r.Kind), Columns: r.Columns,
			TargetColumns: r.TargetColumns, Constraint: r.Constraint}
		if r.Junction != nil {
			rel.Junction = r.Junction.Table
		}
		out.Relationships = append(out.Relationships, rel)
		if (r.Kind == query.ManyToOne || r.Kind == query.OneToOne) && r.Junction == nil && len(r.Columns) == 1 {
			if p := out.Properties[r.Columns[0]]; p != nil && !strings.Contains(p.Description, "<fk ") {
				note := fmt.Sprintf("Note:\nThis is a Foreign Key to `%s.%s`.<fk table='%s' column='%s'/>",
					r.Target, r.TargetColumns[0], r.Target, r.TargetColumns[0])
				if p.Description != "" {
					note = p.Description + "\n\n" + note
				}
				p.Description = note
			}
		}
	}
}

// embedSpelling is the select item that embeds r and nothing else: the table with the foreign key's name (or
// the junction's) as the hint; a self-reference as PostgREST tells its directions apart, the foreign key column
// for the parent and the table with that column as the hint for the children.
func embedSpelling(r query.Relationship) string {
	switch {
	case r.Junction != nil:
		return r.Target + "!" + r.Junction.Table
	case r.Table == r.Target && r.Kind == query.ManyToOne && len(r.Columns) == 1:
		return r.Columns[0]
	case r.Table == r.Target && len(r.TargetColumns) == 1:
		return r.Target + "!" + r.TargetColumns[0]
	}
	return r.Target + "!" + r.Constraint
}

func commonParameters(header string) map[string]oaParameter {
	str := &oaSchema{Type: "string"}
	return map[string]oaParameter{
		"tenant": {Name: header, In: "header", Required: true, Schema: str,
			Description: "The tenant: its identifier or UUID"},
		"select": {Name: "select", In: "query", Schema: str,
			Description: "Columns to return: *, col, alias:col, col::type; embedded resources: table(cols), alias:table!hint!inner(cols), ...table(cols) (see each table's x-relationships)"},
		"order":  {Name: "order", In: "query", Schema: str, Description: "col.asc|desc.nullsfirst|nullslast, comma-separated"},
		"limit":  {Name: "limit", In: "query", Schema: &oaSchema{Type: "integer"}, Description: "At most this many rows"},
		"offset": {Name: "offset", In: "query", Schema: &oaSchema{Type: "integer"}, Description: "Skip this many rows"},
		"prefer": {Name: "Prefer", In: "header", Schema: str,
			Description: "return=minimal|representation, count=exact, resolution=merge-duplicates|ignore-duplicates, missing=default, tx=rollback, max-affected=N"},
		"columns":     {Name: "columns", In: "query", Schema: str, Description: "The body keys to insert"},
		"on_conflict": {Name: "on_conflict", In: "query", Schema: str, Description: "The unique columns an upsert matches on"},
	}
}
