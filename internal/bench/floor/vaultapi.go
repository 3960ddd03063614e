//go:build vaultapi

// Built with -tags vaultapi, the floor becomes the second yardstick: the same
// program plus the import the design mandates, and nothing else. What it
// costs over the plain floor is that import alone (vault/api's package
// inits); what the helper costs over it is our own work.
package main

import _ "github.com/hashicorp/vault/api"
