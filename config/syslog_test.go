package config

import (
	"testing"

	"github.com/vault-ssh-helper/vault-ssh-helper/config/configtest"
)

func TestSyslogFacilityUnsetMeansNoSyslog(t *testing.T) {
	if s := mustParse(t, minimal, Options{}).Syslog; s != nil {
		t.Errorf("Syslog = %+v without syslog_facility, want nil", s)
	}
}

func TestSyslogFacilityNamesTheirCodes(t *testing.T) {
	for in, want := range map[string]Syslog{
		"authpriv":     {Facility: 10, Name: "authpriv"},
		" AUTHPRIV ":   {Facility: 10, Name: "authpriv"},
		"auth":         {Facility: 4, Name: "auth"},
		"daemon":       {Facility: 3, Name: "daemon"},
		"user":         {Facility: 1, Name: "user"},
		"local0":       {Facility: 16, Name: "local0"},
		"local7":       {Facility: 23, Name: "local7"},
		"ftp":          {Facility: 11, Name: "ftp"},
		"syslog":       {Facility: 5, Name: "syslog"},
		"Local3":       {Facility: 19, Name: "local3"},
		"cron":         {Facility: 9, Name: "cron"},
		"uucp":         {Facility: 8, Name: "uucp"},
		"news":         {Facility: 7, Name: "news"},
		"lpr":          {Facility: 6, Name: "lpr"},
		"mail":         {Facility: 2, Name: "mail"},
		"local1":       {Facility: 17, Name: "local1"},
		"local2":       {Facility: 18, Name: "local2"},
		"local4":       {Facility: 20, Name: "local4"},
		"local5":       {Facility: 21, Name: "local5"},
		"\tlocal6\n  ": {Facility: 22, Name: "local6"},
	} {
		got := mustParse(t, minimal+"syslog_facility = \""+escape(in)+"\"\n", Options{}).Syslog
		if got == nil || *got != want {
			t.Errorf("syslog_facility %q = %+v, want %+v", in, got, want)
		}
	}
}

// The message's text is pinned in TestMessages.
func TestSyslogFacilityThatIsNotOneIsRefusedNamingTheKey(t *testing.T) {
	for _, in := range []string{"", "kern", "authpriv2", "local8", "LOG_AUTHPRIV", "10", "security"} {
		text := minimal + "syslog_facility = \"" + in + "\"\n"
		wantRefusedFor(t, text, Options{}, ErrNotFacility, `syslog_facility "`+in+`"`)
		if n := len(configtest.Problems(mustFail(t, text))); n != 1 {
			t.Errorf("syslog_facility %q: %d problems, want 1", in, n)
		}
	}
}

func mustFail(t *testing.T, text string) error {
	t.Helper()
	_, err := parse([]byte(text), Options{})
	if err == nil {
		t.Fatalf("Parse accepted:\n%s", text)
	}
	return err
}

func TestSyslogFacilityIsAcceptedInATOTPConfig(t *testing.T) {
	token := writeFile(t, t.TempDir(), "token", testToken+"\n", 0o600)
	cfg := mustParse(t, totpConfigWith(`vault_token_file = "`+token+`"`, `syslog_facility = "authpriv"`), Options{})
	if cfg.Syslog == nil || cfg.Syslog.Name != "authpriv" {
		t.Errorf("Syslog = %+v, want authpriv", cfg.Syslog)
	}
}

func escape(s string) string {
	r := ""
	for _, c := range s {
		switch c {
		case '\t':
			r += `\t`
		case '\n':
			r += `\n`
		default:
			r += string(c)
		}
	}
	return r
}
