// Package devoidc is a small OpenID Connect provider for development and
// tests, built on github.com/zitadel/oidc/v3/pkg/op.
//
// It serves discovery, JWKS, the device authorization grant (RFC 8628)
// and the client credentials grant on loopback, with users and clients
// given in code. Its approval page at /device is unauthenticated: anyone
// who can reach the listener can approve a device code for any user. It
// exists so that `bastion dev` and the tests obtain certificates through
// the real login path; never point a production bastion at it.
//
// Parts of the storage follow the example storage of zitadel/oidc
// (example/server/storage), Copyright The zitadel/oidc Contributors,
// licensed under the Apache License, Version 2.0
// (http://www.apache.org/licenses/LICENSE-2.0).
package devoidc
