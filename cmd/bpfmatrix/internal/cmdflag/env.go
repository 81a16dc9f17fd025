package cmdflag

import (
	"fmt"
	"regexp"

	"github.com/bpfmatrix/bpfmatrix/harness/host"
)

// GuestEnv is the environment a guest program gets (exec, test): the
// host's, less the variables --env-exclude and host.EnvExclude drop, with
// --env's settings.
func GuestEnv(envAdd, envExclude List) ([]string, error) {
	var excl []*regexp.Regexp
	for _, e := range envExclude {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("%w: --env-exclude %q: %v", ErrUsage, e, err)
		}
		excl = append(excl, re)
	}
	env, err := host.ExecEnv(host.Environ(), excl, envAdd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return env, nil
}
