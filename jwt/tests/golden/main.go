// Command golden writes fixtures.json: NATS JWTs encoded by github.com/nats-io/jwt/v2 from fixed
// test seeds, plus the validation issues Go reports for deliberately invalid claims. The Rust test
// render/tests/jwt_golden.rs re-encodes every token and must reproduce it byte for byte.
//
// Regenerate with: cd render/tests/golden && go run .
package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// Throwaway test seeds, generated once with nkeys. They protect nothing.
const (
	operatorSeed       = "SOAJT2ED6ICXUTGVYLYGNNZNNEHH63EDPY6XGSDH3ZZWWELUG2RVNGEQJU"
	operatorSignerSeed = "SOAMVK33IMKMUQ7O2HWXZQOP34HTFKY4QNNP63B5LRAAMZ47XML44OHUZM"
	accountSeed        = "SAAH6UKFJJDUZWIPNQTUFGXHWPAMXXOMG5TDQOFC6YIOGER54RLNUUTS3Q"
	accountSignerSeed  = "SAAJ2DH4WN3DSM6LYXY7EMKQU2ZKC3C7WNAUGCUZJ4CM36RYB4KCHSOYBM"
	accountScopedSeed  = "SAAIBJT5EQI672KCK6F45AYCLDCS2WZULFHVMJV6QEHDBCXCAP6IJAPGBA"
	otherAccountSeed   = "SAAHUFV67H4TZX2DSNJV3MBPSQCFPSXEGA4Y5QAZLDJ4IVHK2UOB424OS4"
	userSeed           = "SUABWI4ENEYQCN6R3AH3I7HMK6OFGFA5KNNWFANXQNMCM6HNVBVFFVUDVQ"
	authUserSeed       = "SUAEFB3JJJJHSQ4PFKWIGK6BBYFG2IATBDL3CPUTARNI6RGIWEQNQNRTCQ"
	xkeySeed           = "SXAJHTMW45IMFRICERXSDIVQRLPIOBGSBYWTLDFBPGLW72MO4OK6CYDM4Q"
)

// fixture is one line of fixtures.json.
type fixture struct {
	Case   string   `json:"case"`
	Signer string   `json:"signer"`
	Token  string   `json:"token"`
	Creds  string   `json:"creds,omitempty"`
	Issues []string `json:"issues,omitempty"`
	// Input is the claims' JSON before Encode, for cases whose point is Encode's reordering.
	Input json.RawMessage `json:"input,omitempty"`
}

func kp(seed string) nkeys.KeyPair {
	k, err := nkeys.FromSeed([]byte(seed))
	must(err)
	return k
}

func pub(seed string) string {
	p, err := kp(seed).PublicKey()
	must(err)
	return p
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func encode(name, signer string, c jwt.Claims) fixture {
	tok, err := c.Encode(kp(signer))
	must(err)
	return fixture{Case: name, Signer: signer, Token: tok}
}

// withIssues records the blocking and warning descriptions Go's Validate reports, sorted because
// Go iterates maps in random order.
func withIssues(f fixture, c jwt.Claims) fixture {
	vr := jwt.CreateValidationResults()
	c.Validate(vr)
	for _, i := range vr.Issues {
		f.Issues = append(f.Issues, i.Description)
	}
	sort.Strings(f.Issues)
	return f
}

func operator() jwt.Claims {
	c := jwt.NewOperatorClaims(pub(operatorSeed))
	c.Name = "golden <operator>"
	c.SigningKeys.Add(pub(operatorSignerSeed))
	c.AccountServerURL = "http://127.0.0.1:9090/jwt/v1"
	c.OperatorServiceURLs.Add("nats://127.0.0.1:4222", "tls://127.0.0.1:4223")
	c.SystemAccount = pub(otherAccountSeed)
	c.AssertServerVersion = "2.10.0"
	c.StrictSigningKeyUsage = true
	c.Tags.Add("Env:Test", "golden")
	return c
}

func account() *jwt.AccountClaims {
	c := jwt.NewAccountClaims(pub(accountSeed))
	c.Name = "APP & <friends>"
	c.Expires = 4102444800
	c.Description = "everything an account can carry"
	c.InfoURL = "https://example.com/app?x=1&y=2"
	c.Tags.Add("Team:Core", "tier-1")
	c.SigningKeys.Add(pub(accountSignerSeed))
	scope := jwt.NewUserScope()
	scope.Key = pub(accountScopedSeed)
	scope.Role = "writer"
	scope.Description = "scoped <writer>"
	scope.Template.Pub.Allow.Add("app.{{name()}}.>")
	scope.Template.Sub.Allow.Add("_INBOX.>", "app.{{tag(team)}}.*")
	scope.Template.Resp = &jwt.ResponsePermission{MaxMsgs: 1, Expires: 5 * time.Second}
	scope.Template.AllowedConnectionTypes.Add(jwt.ConnectionTypeStandard, jwt.ConnectionTypeWebsocket)
	c.SigningKeys.AddScopedSigner(scope)
	c.Limits.JetStreamTieredLimits["R1"] = jwt.JetStreamLimits{MemoryStorage: 1 << 20, DiskStorage: 1 << 30, Streams: 10, Consumer: 100, MaxAckPending: 1000, MemoryMaxStreamBytes: 1 << 19, DiskMaxStreamBytes: 1 << 29, MaxBytesRequired: true}
	c.Limits.JetStreamTieredLimits["R3"] = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	c.Limits.Conn = 100
	c.Limits.LeafNodeConn = 5
	c.Limits.DisallowBearer = true
	c.Limits.Payload = 1 << 20
	svc := &jwt.Export{Name: "svc <api>", Subject: "app.api.>", Type: jwt.Service, TokenReq: true,
		ResponseType: jwt.ResponseTypeStream, ResponseThreshold: 1500 * time.Millisecond,
		Latency: &jwt.ServiceLatency{Sampling: 50, Results: "app.latency"}, Advertise: true, AllowTrace: true,
		Info: jwt.Info{Description: "the api", InfoURL: "https://example.com/api"}}
	svc.RevokeAt(pub(otherAccountSeed), time.Unix(1700000000, 0))
	hdr := &jwt.Export{Subject: "app.hdr", Type: jwt.Service, Latency: &jwt.ServiceLatency{Sampling: jwt.Headers, Results: "app.hdr.latency"}}
	stream := &jwt.Export{Name: "events", Subject: "app.events.*.>", Type: jwt.Stream, AccountTokenPosition: 3}
	chunked := &jwt.Export{Subject: "app.chunk", Type: jwt.Service, ResponseType: jwt.ResponseTypeChunked}
	c.Exports.Add(svc, stream, hdr, chunked)
	c.Imports.Add(
		&jwt.Import{Name: "their svc", Subject: "their.svc.>", Account: pub(otherAccountSeed), LocalSubject: "mine.svc.>", Type: jwt.Service, Share: true},
		&jwt.Import{Name: "their stream", Subject: "their.events.*", Account: pub(otherAccountSeed), LocalSubject: "mine.$1", Type: jwt.Stream, AllowTrace: true},
		&jwt.Import{Subject: "a.first", Account: pub(otherAccountSeed), Type: jwt.Stream},
	)
	c.Mappings["orders.>"] = []jwt.WeightedMapping{{Subject: "orders.v1.>", Weight: 60}, {Subject: "orders.v2.>", Weight: 40}}
	c.Mappings["local"] = []jwt.WeightedMapping{{Subject: "local.east", Weight: 100, Cluster: "east"}, {Subject: "local.west", Cluster: "west"}}
	c.RevokeAt(pub(userSeed), time.Unix(1700000001, 0))
	c.RevokeAt(jwt.All, time.Unix(1600000000, 0))
	c.DefaultPermissions.Pub.Allow.Add("app.>")
	c.DefaultPermissions.Pub.Deny.Add("app.secret.>")
	c.DefaultPermissions.Sub.Allow.Add("_INBOX.>", "app.> q")
	c.DefaultPermissions.Resp = &jwt.ResponsePermission{MaxMsgs: -1, Expires: time.Minute}
	c.Authorization.AuthUsers.Add(pub(authUserSeed))
	c.Authorization.AllowedAccounts.Add(pub(otherAccountSeed))
	c.Authorization.XKey = pub(xkeySeed)
	c.Trace = &jwt.MsgTrace{Destination: "trace.app", Sampling: 25}
	c.ClusterTraffic = jwt.ClusterTrafficOwner
	return c
}

// sharedSubjects has more than 12 exports and imports (where Go's sort.Sort stops being an
// insertion sort) and several entries per subject, added in a scrambled order, so the bytes
// depend on exactly how Go's unstable sort permutes equal subjects.
func sharedSubjects() *jwt.AccountClaims {
	c := jwt.NewAccountClaims(pub(accountSeed))
	c.Name = "shared subjects"
	// An export subject may appear twice, once per type; imports may repeat one freely.
	exports := []string{"m", "c", "x", "c", "a", "m", "q", "a", "x", "b", "z", "q", "b", "z", "y", "y", "k", "k"}
	seen := map[string]bool{}
	for i, s := range exports {
		kind := jwt.Service
		if seen[s] {
			kind = jwt.Stream
		}
		seen[s] = true
		c.Exports.Add(&jwt.Export{Name: fmt.Sprintf("export %02d", i), Subject: jwt.Subject("shared." + s + ".>"), Type: kind})
	}
	imports := []string{"m", "c", "x", "c", "a", "m", "c", "q", "a", "x", "c", "m", "b", "c", "a", "m", "z", "c"}
	for i, s := range imports {
		kind := jwt.Stream
		if i%2 == 0 {
			kind = jwt.Service
		}
		c.Imports.Add(&jwt.Import{Name: fmt.Sprintf("import %02d", i), Subject: jwt.Subject("other." + s + ".>"),
			Account: pub(otherAccountSeed), LocalSubject: jwt.RenamingSubject(fmt.Sprintf("local.%02d.>", i)), Type: kind})
	}
	return c
}

// withInput encodes c after recording its JSON as built, before Encode sorts it in place.
func withInput(name, signer string, c jwt.Claims) fixture {
	input, err := json.Marshal(c)
	must(err)
	f := withIssues(encode(name, signer, c), c)
	f.Input = input
	return f
}

// sortCase is one line of sort_orders.json: the subject keys of a list of exports, and the
// order (indices into keys) Go's sort.Sort leaves them in.
type sortCase struct {
	Keys  []int `json:"keys"`
	Order []int `json:"order"`
}

// sortOrders sorts exports whose subjects repeat a lot, in random and in patterned orders
// (ascending with a few swaps, descending, organ pipe), through the jwt.Exports Less and Swap
// that Encode uses, so the Rust port of sort.Sort can be compared with Go's on many inputs.
func sortOrders() []sortCase {
	rng := rand.New(rand.NewSource(8))
	var cases []sortCase
	for n := 2; n <= 260; n += 1 + n/16 {
		for pattern := 0; pattern < 4; pattern++ {
			distinct := 1 + rng.Intn(n)
			keys := make([]int, n)
			for i := range keys {
				switch pattern {
				case 0:
					keys[i] = rng.Intn(distinct)
				case 1:
					keys[i] = i * distinct / n
				case 2:
					keys[i] = (n - i) * distinct / n
				default:
					keys[i] = min(i, n-i) * distinct / n
				}
			}
			if pattern == 1 {
				for s := 0; s < 3; s++ {
					i, j := rng.Intn(n), rng.Intn(n)
					keys[i], keys[j] = keys[j], keys[i]
				}
			}
			exports := make(jwt.Exports, n)
			for i, k := range keys {
				exports[i] = &jwt.Export{Name: strconv.Itoa(i), Subject: jwt.Subject(fmt.Sprintf("s.%04d", k))}
			}
			sort.Sort(exports)
			order := make([]int, n)
			for i, e := range exports {
				order[i], _ = strconv.Atoi(e.Name)
			}
			cases = append(cases, sortCase{Keys: keys, Order: order})
		}
	}
	return cases
}

func minimalAccount() jwt.Claims {
	return jwt.NewAccountClaims(pub(otherAccountSeed))
}

func user() *jwt.UserClaims {
	c := jwt.NewUserClaims(pub(userSeed))
	c.Name = "alice <&>"
	c.Expires = 4102444800
	c.NotBefore = 1600000000
	c.IssuerAccount = pub(accountSeed)
	c.Pub.Allow.Add("app.>", "_INBOX.>")
	c.Pub.Deny.Add("app.secret.>")
	c.Sub.Allow.Add("app.> workers", "_INBOX.>")
	c.Sub.Deny.Add("app.secret.>")
	c.Resp = &jwt.ResponsePermission{MaxMsgs: 3, Expires: 2 * time.Second}
	c.Src.Add("192.168.0.0/16", "2001:db8::/32")
	c.Times = []jwt.TimeRange{{Start: "08:00:00", End: "17:30:00"}, {Start: "22:00:00", End: "23:59:59"}}
	c.Locale = "Europe/Berlin"
	c.Subs = 10
	c.Data = 1 << 20
	c.NatsLimits.Payload = 4096
	c.BearerToken = true
	c.ProxyRequired = true
	c.AllowedConnectionTypes.Add(jwt.ConnectionTypeStandard, jwt.ConnectionTypeWebsocket, jwt.ConnectionTypeMqtt)
	c.Tags.Add("Role:Admin")
	return c
}

func scopedUser() jwt.Claims {
	c := jwt.NewUserClaims(pub(userSeed))
	c.Name = "bob"
	c.SetScoped(true)
	c.IssuerAccount = pub(accountSeed)
	return c
}

func activation() jwt.Claims {
	c := jwt.NewActivationClaims(pub(otherAccountSeed))
	c.Name = "activation for other"
	c.Expires = 4102444800
	c.ImportSubject = "app.api.>"
	c.ImportType = jwt.Service
	c.IssuerAccount = pub(accountSeed)
	c.Tags.Add("Grant")
	return c
}

func deleteRequest() jwt.Claims {
	c := jwt.NewGenericClaims(pub(operatorSeed))
	c.Data["accounts"] = []string{pub(otherAccountSeed), pub(accountSeed)}
	return c
}

func badAccount() jwt.Claims {
	c := jwt.NewAccountClaims(pub(accountSeed))
	c.Exports.Add(
		&jwt.Export{Subject: "svc.>", Type: jwt.Service},
		&jwt.Export{Subject: "svc.a", Type: jwt.Service, Latency: &jwt.ServiceLatency{Sampling: 10, Results: "lat.*"}},
		&jwt.Export{Subject: "str.a", Type: jwt.Stream, ResponseType: jwt.ResponseTypeChunked, AllowTrace: true, ResponseThreshold: time.Second},
		&jwt.Export{Subject: "str.b", Type: jwt.Stream, Latency: &jwt.ServiceLatency{Sampling: 10, Results: "lat"}, AccountTokenPosition: 1},
		&jwt.Export{Subject: "str.*.x", Type: jwt.Stream, AccountTokenPosition: 3},
		&jwt.Export{Subject: "str.*", Type: jwt.Stream, AccountTokenPosition: 4},
		&jwt.Export{Subject: "bad..subject ", Type: jwt.Service, ResponseType: "Weird"},
	)
	c.Imports.Add(
		&jwt.Import{Subject: "imp.>", Account: pub(otherAccountSeed), Type: jwt.Service, AllowTrace: true},
		&jwt.Import{Subject: "imp.a", Account: pub(otherAccountSeed), Type: jwt.Service},
		&jwt.Import{Subject: "imp.s", Type: jwt.Stream, Share: true, LocalSubject: "loc.>"},
		&jwt.Import{Subject: "imp.t.*", Account: pub(otherAccountSeed), Type: jwt.Stream, LocalSubject: "loc.$2"},
		&jwt.Import{Subject: "app.api.x", Account: pub(otherAccountSeed), Type: jwt.Stream, Token: encode("", accountSignerSeed, activation()).Token},
		&jwt.Import{Subject: "other.y", Account: pub(accountSeed), Type: jwt.Service, Token: encode("", accountSignerSeed, activation()).Token},
	)
	c.Mappings["m"] = []jwt.WeightedMapping{{Subject: "m.a", Weight: 80}, {Subject: "m.b", Weight: 30}, {Subject: "m.c", Weight: 70, Cluster: "c1"}, {Subject: "m.d", Weight: 40, Cluster: "c1"}}
	c.Limits.JetStreamTieredLimits[""] = jwt.JetStreamLimits{DiskStorage: 1}
	c.Limits.Exports = 2
	c.Limits.WildcardExports = false
	c.SigningKeys.Add(pub(userSeed))
	c.DefaultPermissions.Pub.Allow.Add("a b")
	c.DefaultPermissions.Sub.Allow.Add("a b c")
	c.Authorization.AllowedAccounts.Add("*", pub(otherAccountSeed))
	c.Authorization.XKey = pub(userSeed)
	c.Trace = &jwt.MsgTrace{Destination: "trace.*", Sampling: 200}
	c.ClusterTraffic = "elsewhere"
	c.InfoURL = "nohost"
	return c
}

func badUser() jwt.Claims {
	c := jwt.NewUserClaims(pub(userSeed))
	c.IssuerAccount = pub(userSeed)
	c.Src.Add("10.0.0.0/33", "not-a-cidr", "10.1.0.0/16")
	c.Times = []jwt.TimeRange{{Start: "25:00:00", End: ""}, {Start: "", End: "1:2:3"}}
	c.Locale = "../Berlin"
	c.Pub.Allow.Add("q q")
	c.Sub.Deny.Add(".x")
	return c
}

func badOperator() jwt.Claims {
	c := jwt.NewOperatorClaims(pub(operatorSeed))
	c.SigningKeys.Add(pub(accountSeed))
	c.SystemAccount = pub(operatorSeed)
	c.OperatorServiceURLs.Add("http://127.0.0.1:4222", "nats://u:p@127.0.0.1:4222", "nats://127.0.0.1:4222/path")
	c.AssertServerVersion = "2.x"
	return c
}

func main() {
	acc := account()
	usr := user()
	fixtures := []fixture{
		encode("operator", operatorSeed, operator()),
		encode("operator_signed_account", operatorSignerSeed, acc),
		encode("minimal_account", operatorSeed, minimalAccount()),
		encode("user", accountSignerSeed, usr),
		encode("scoped_user", accountScopedSeed, scopedUser()),
		encode("activation", accountSignerSeed, activation()),
		encode("generic_delete", operatorSeed, deleteRequest()),
		withIssues(encode("invalid_account", operatorSeed, badAccount()), badAccount()),
		withIssues(encode("invalid_user", accountSeed, badUser()), badUser()),
		withIssues(encode("invalid_operator", operatorSeed, badOperator()), badOperator()),
		withInput("shared_subjects_account", operatorSeed, sharedSubjects()),
	}
	// The valid cases must validate cleanly in Go too.
	for _, c := range []jwt.Claims{operator(), acc, minimalAccount(), usr, scopedUser(), activation()} {
		vr := jwt.CreateValidationResults()
		c.Validate(vr)
		if vr.IsBlocking(true) {
			panic(vr.Errors())
		}
	}
	creds, err := jwt.FormatUserConfig(fixtures[3].Token, []byte(userSeed))
	must(err)
	fixtures[3].Creds = string(creds)

	writeLines("fixtures.json", fixtures)
	writeLines("sort_orders.json", sortOrders())
}

// writeLines writes one JSON value per line.
func writeLines[T any](path string, values []T) {
	out, err := os.Create(path)
	must(err)
	defer out.Close()
	for _, v := range values {
		line, err := json.Marshal(v)
		must(err)
		_, err = out.Write(append(line, '\n'))
		must(err)
	}
}
