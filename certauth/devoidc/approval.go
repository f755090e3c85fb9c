package devoidc

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// approvalPage is the verification URI of the device flow: a form to
// approve or deny a user code as one of the configured users. It asks for
// no password (development only; see the package documentation).
type approvalPage struct{ storage *storage }

var approvalTemplate = template.Must(template.New("device").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>bastion development login</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto">
<h1>Development login</h1>
<p>This development identity provider approves logins without a password.</p>
{{if .Message}}<p><strong>{{.Message}}</strong></p>{{end}}
<form method="post" action="/device">
<p><label>Code <input name="user_code" value="{{.UserCode}}" autofocus></label></p>
<p><label>Sign in as <select name="subject">{{range .Users}}<option value="{{.Subject}}">{{.Subject}} {{.Email}} {{.Groups}}</option>{{end}}</select></label></p>
<p><button name="action" value="allow">Approve</button> <button name="action" value="deny">Deny</button></p>
</form></body></html>
`))

type approvalData struct {
	UserCode, Message string
	Users             []User
}

func (p *approvalPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data := approvalData{Users: p.users()}
	switch r.Method {
	case http.MethodGet:
		data.UserCode = r.URL.Query().Get("user_code")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		code := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("user_code")))
		subject := r.PostForm.Get("subject")
		if r.PostForm.Get("action") != "allow" {
			subject = ""
		}
		if err := p.storage.decideDevice(code, subject); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			data.UserCode, data.Message = code, err.Error()
		} else if subject == "" {
			data.Message = "Denied. You can close this page."
		} else {
			data.Message = "Approved as " + subject + ". Return to your terminal."
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = approvalTemplate.Execute(w, data)
}

func (p *approvalPage) users() []User {
	p.storage.mu.Lock()
	defer p.storage.mu.Unlock()
	out := make([]User, 0, len(p.storage.users))
	for _, u := range p.storage.users {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Subject, b.Subject) })
	return out
}
