package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/store"
)

// devDataDir is where `bastion dev` keeps everything.
const devDataDir = ".bastion-dev"

func dbPath(dataDir string) string { return filepath.Join(dataDir, "bastion.db") }

// logDir holds the append-only Merkle log of session digests.
func logDir(dataDir string) string { return filepath.Join(dataDir, "log") }

// dataFlags adds --data and --config to a command that reads the store.
type dataFlags struct {
	data   *string
	config *string
}

func addDataFlags(fs *flag.FlagSet) dataFlags {
	return dataFlags{
		data:   fs.String("data", "", "data directory (default: $BASTION_DATA, the config's data_dir, or ./"+devDataDir+")"),
		config: fs.String("config", "", "config file whose data_dir to use"),
	}
}

// dir finds the data directory: --data, then $BASTION_DATA, then the
// config's data_dir, then ./.bastion-dev when it exists.
func (d dataFlags) dir() (string, error) {
	switch {
	case *d.data != "":
		return *d.data, nil
	case os.Getenv("BASTION_DATA") != "":
		return os.Getenv("BASTION_DATA"), nil
	case *d.config != "":
		cfg, err := config.Load(*d.config)
		if err != nil {
			return "", err
		}
		return cfg.DataDir, nil
	}
	if st, err := os.Stat(devDataDir); err == nil && st.IsDir() {
		return devDataDir, nil
	}
	return "", errors.New("no data directory: pass --data DIR or --config FILE, set $BASTION_DATA, or run beside `bastion dev`")
}

// openStore opens the store in the data directory, which must exist: a
// typo in --data must not create an empty database and report no sessions.
func (d dataFlags) openStore() (*store.Store, error) {
	dir, err := d.dir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dbPath(dir)); err != nil {
		return nil, errors.New("no bastion database in " + dir)
	}
	return store.Open(dbPath(dir))
}
