from kale.cli import main

main()
