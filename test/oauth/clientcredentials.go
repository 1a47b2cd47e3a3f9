// An OAuth client nobody here wrote: golang.org/x/oauth2/clientcredentials obtains an access token
// from pki's token endpoint over mutual TLS (RFC 8705 tls_client_auth). Driven by
// test/oauth/interop.test.ts; prints the token response as JSON.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func main() {
	pair, err := tls.LoadX509KeyPair(os.Getenv("CERT"), os.Getenv("KEY"))
	must(err)
	roots := x509.NewCertPool()
	caPem, err := os.ReadFile(os.Getenv("CA"))
	must(err)
	roots.AppendCertsFromPEM(caPem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots}}}
	conf := clientcredentials.Config{
		ClientID:       os.Getenv("CLIENT_ID"),
		TokenURL:       os.Getenv("TOKEN_URL"),
		Scopes:         strings.Fields(os.Getenv("SCOPE")),
		EndpointParams: url.Values{"resource": {os.Getenv("RESOURCE")}},
		AuthStyle:      oauth2.AuthStyleInParams,
	}
	tok, err := conf.Token(context.WithValue(context.Background(), oauth2.HTTPClient, client))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]interface{}{"access_token": tok.AccessToken, "token_type": tok.TokenType, "expiry": tok.Expiry, "scope": tok.Extra("scope")})
	fmt.Println(string(out))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
